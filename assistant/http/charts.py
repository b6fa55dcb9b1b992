"""Server-side SVG charts for the status page: no script, no CDN, readable without colour.

A chart is a time axis (the last 24 h, hour ticks) and a value axis; series are drawn as
points (one per request or fire) plus an optional line of per-bucket percentiles. Each
chart carries a <title> and <desc> so a screen reader gets the figures as text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import escape

from assistant.http.metrics import percentile

W, H = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 32


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]  # (epoch seconds, value)
    css: str  # a class in app.css: colour and marker shape
    line: list[tuple[float, float]] = field(default_factory=list)


def bucket_percentile(points: list[tuple[float, float]], start: float, end: float,
                      bucket_s: float, q: float) -> list[tuple[float, float]]:
    """Per-bucket percentile (the bucket's mid time, value) for buckets with data."""
    buckets: dict[int, list[float]] = {}
    for ts, v in points:
        if start <= ts <= end:
            buckets.setdefault(int((ts - start) // bucket_s), []).append(v)
    return [(start + (b + 0.5) * bucket_s, percentile(sorted(vs), q))
            for b, vs in sorted(buckets.items())]


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for step in (1, 2, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def time_chart(title: str, unit: str, series: list[Series], end: datetime, zone: ZoneInfo,
               hours: int = 24, log_scale: bool = False) -> str:
    # Real hours, not wall-clock ones: on a DST day "24 h ago" is not the same clock time.
    t1 = end.timestamp()
    t0 = t1 - hours * 3600
    start_dt = datetime.fromtimestamp(t0, zone)
    values = [v for s in series for _, v in (s.points + s.line)]
    top = _nice_max(max(values, default=0.0))
    lo = 0.01 if log_scale else 0.0

    def x(ts: float) -> float:
        return LEFT + (ts - t0) / (t1 - t0) * (W - LEFT - RIGHT)

    def y(v: float) -> float:
        if log_scale:
            v = max(v, lo)
            frac = (math.log10(v) - math.log10(lo)) / (math.log10(top) - math.log10(lo) or 1)
        else:
            frac = v / top
        return H - BOTTOM - frac * (H - TOP - BOTTOM)

    n = sum(len(s.points) for s in series)
    summary = "; ".join(_describe(s, unit) for s in series)
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="chart" '
           f'role="img" aria-labelledby="t-{id(series)} d-{id(series)}">'),
           f'<title id="t-{id(series)}">{escape(title)}</title>',
           (f'<desc id="d-{id(series)}">{n} values in the last {hours} hours. '
           f'{escape(summary)}</desc>'),
           (f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
           'class="plot"/>')]
    ticks = [lo * 10 ** i for i in range(12) if lo * 10 ** i <= top] if log_scale else \
        [top * i / 4 for i in range(5)]
    for v in ticks:
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{_fmt(v)}</text>')
    first_hour = start_dt.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    for h in range(hours + 2):
        tick = datetime.fromtimestamp(first_hour.timestamp() + h * 3600, zone)
        if tick.timestamp() < t0 or tick.timestamp() > t1 or tick.hour % 3:
            continue
        xt = x(tick.timestamp())
        out.append(f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{TOP}" y2="{H - BOTTOM}" class="grid"/>')
        out.append(f'<text x="{xt:.1f}" y="{H - BOTTOM + 16}" class="tick" '
                   f'text-anchor="middle">{tick:%H:%M}</text>')
    out.append(f'<text x="14" y="{TOP + (H - TOP - BOTTOM) / 2:.0f}" class="axis" '
               f'transform="rotate(-90 14 {TOP + (H - TOP - BOTTOM) / 2:.0f})" '
               f'text-anchor="middle">{escape(unit)}</text>')
    for s in series:
        pts = [p for p in s.points if t0 <= p[0] <= t1]
        for ts, v in pts[-3000:]:
            out.append(f'<circle cx="{x(ts):.1f}" cy="{y(v):.1f}" r="2" class="pt {s.css}"/>')
        if len(s.line) > 1:
            path = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in s.line)
            out.append(f'<polyline points="{path}" class="ln {s.css}"/>')
    for i, s in enumerate(series):
        lx = LEFT + 8 + i * 200
        out.append(f'<circle cx="{lx}" cy="{TOP + 10}" r="4" class="pt {s.css}"/>')
        out.append(f'<text x="{lx + 8}" y="{TOP + 14}" class="legend">{escape(s.name)}</text>')
    if not n:
        out.append(f'<text x="{W / 2}" y="{H / 2}" class="empty" text-anchor="middle">'
                   'no data in this period</text>')
    out.append("</svg>")
    return "\n".join(out)


def _fmt(v: float) -> str:
    return f"{v:g}" if v >= 0.01 else f"{v:.0e}"


def _describe(s: Series, unit: str) -> str:
    vals = sorted(v for _, v in s.points)
    if not vals:
        return f"{s.name}: none"
    return (f"{s.name}: {len(vals)} values, median {percentile(vals, 0.5):.3g} {unit}, "
            f"99th percentile {percentile(vals, 0.99):.3g} {unit}, max {vals[-1]:.3g} {unit}")
