"""Request timings kept in memory for the status page (bounded: the last 24 h, at most 50k)."""

from __future__ import annotations

import threading
import time
from collections import deque

DAY_S = 24 * 3600


class RequestLog:
    def __init__(self, maxlen: int = 50_000) -> None:
        self._rows: deque[tuple[float, str, float]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, group: str, ms: float, ts: float | None = None) -> None:
        with self._lock:
            self._rows.append((time.time() if ts is None else ts, group, ms))

    def since(self, ts: float) -> list[tuple[float, str, float]]:
        with self._lock:
            return [r for r in self._rows if r[0] >= ts]

    def percentiles(self, since_ts: float, group: str | None = None) -> dict[str, float | None]:
        values = sorted(ms for t, g, ms in self.since(since_ts) if group is None or g == group)
        if not values:
            return {"count": 0, "p50_ms": None, "p99_ms": None}
        return {"count": len(values), "p50_ms": round(percentile(values, 0.5), 2),
                "p99_ms": round(percentile(values, 0.99), 2)}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def group_of(path: str) -> str:
    """Which chart line a request belongs to."""
    if path == "/api/command" or path == "/command":
        return "command"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/static/"):
        return "static"
    return "page"
