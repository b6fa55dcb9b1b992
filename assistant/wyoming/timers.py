"""Wyoming timer events from the store: started, updated, cancelled, finished.

Why a diff of the store: the skills (and HA, MQTT, the CLI) change timers through one pipeline
that reports "something changed", not what; comparing the pending timers before and after
turns any change, from any source, into the events a satellite with a timer display expects.
`finished` comes from the fired `timer.done` event, so a timer that rang is never reported as
cancelled.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event
from wyoming.timer import TimerCancelled, TimerFinished, TimerStarted, TimerUpdated

__all__ = ["TimerTracker"]


@dataclass(frozen=True)
class _Seen:
    site: str
    fire_ts: float


class TimerTracker:
    def __init__(self, store: Any, clock: Any = time.time) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = self._snapshot()

    def _snapshot(self) -> dict[str, _Seen]:
        return {it.id: _Seen(it.site, it.fire_ts) for it in self.store.pending("timer")}

    def changes(self) -> list[tuple[str, Event]]:
        """(site, event) for every timer that started, changed or vanished since the last call."""
        out: list[tuple[str, Event]] = []
        with self._lock:
            now_items = {it.id: it for it in self.store.pending("timer")}
            for tid, it in now_items.items():
                old = self._seen.get(tid)
                if old is None:
                    out.append((it.site, self._started(it)))
                elif abs(old.fire_ts - it.fire_ts) > 0.5:
                    left = max(0, round(it.fire_ts - self.clock()))
                    out.append((it.site, TimerUpdated(id=tid, is_active=True,
                                                      total_seconds=left).event()))
            for tid, old in self._seen.items():
                if tid in now_items:
                    continue
                item = self.store.get(tid)
                status = getattr(item, "status", "cancelled")
                if status == "paused":
                    left = max(0, round(item.fire_ts - (item.updated_ts or self.clock())))
                    out.append((old.site, TimerUpdated(id=tid, is_active=False,
                                                       total_seconds=left).event()))
                    continue  # a paused timer is still ours: keep watching it
                if status in ("fired", "late", "done", "missed"):
                    continue  # reported by finished()
                out.append((old.site, TimerCancelled(id=tid).event()))
            self._seen = {tid: _Seen(it.site, it.fire_ts) for tid, it in now_items.items()}
        return out

    def current(self, site: str) -> list[Event]:
        """`timer-started` for the running timers of `site` (a satellite that just connected)."""
        return [self._started(it) for it in self.store.pending("timer") if it.site == site]

    def finished(self, timer_id: str) -> Event:
        with self._lock:
            self._seen.pop(timer_id, None)
        return TimerFinished(id=timer_id).event()

    def _started(self, it: Any) -> Event:
        total = int(it.duration_s or max(0, round(it.fire_ts - self.clock())))
        h, rest = divmod(total, 3600)
        m, s = divmod(rest, 60)
        return TimerStarted(id=it.id, total_seconds=max(0, round(it.fire_ts - self.clock())),
                            name=it.label or None, start_hours=h, start_minutes=m,
                            start_seconds=s).event()
