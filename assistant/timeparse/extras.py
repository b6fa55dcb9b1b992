"""What one request says beyond one time: the end of a range, further separate items, and
the parts we could not resolve. Called by slots.extract_slots after the main slots.

- `end` (slots["end"], only when a range was said): "from 2 to 4" -> the 16:00 ISO time; a
  calendar event also gets its length in duration_s.
- `more`: a one-off request with several clock times or days ("call dad at 6 and again at
  8", "at 9 on Monday and Wednesday") is several items: the first stays in `slots`, the
  others come back as full slot dicts (same subject/label). Times of one repeat are not
  split: they become one RRULE (BYHOUR=8,20) in resolver.recurrence_value.
- `unresolved`: the user's words for what we could not turn into a time (unresolved.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from . import ranges as rng
from .resolver import Found, TimeParseError, combine
from .settings import TimeSettings
from .text import Text
from .zones import iso, utc


def unresolved_words(f: Found, t: Text) -> list[str]:
    """The original words of each unresolved span ("when I get home")."""
    out = []
    for a, b in f.unresolved:
        first, last = t.words_of(a, b)
        if first >= 0:
            out.append(" ".join(t.words[first:last + 1]))
    return out


def add_end(f: Found, slots: dict[str, Any], domain: str) -> None:
    """slots["end"] (and a calendar event's duration_s) for a range; raises TimeParseError."""
    if f.end_clock is None or not slots.get("when"):
        return
    rec = slots.get("recurrence")
    if rec and "BYHOUR=" in rec["rrule"] and "," in rec["rrule"].split("BYHOUR=")[1].split(";")[0]:
        return  # a window of a sub-daily repeat, already in the rule
    start = datetime.fromisoformat(slots["when"])
    try:
        end = rng.end_of(start, f.end_clock)
    except rng.RangeError as exc:
        raise TimeParseError(str(exc)) from None
    slots["end"] = iso(end)
    if domain == "calendar":
        slots["duration_s"] = round((utc(end) - utc(start)).total_seconds())


def more_items(f: Found, slots: dict[str, Any], now: datetime, settings: TimeSettings,
               alarm: bool) -> list[dict[str, Any]]:
    """Slot dicts for the further clock times / days of a one-off request."""
    if f.recur is not None or not slots.get("when"):
        return []
    out = []
    variants = [dataclasses.replace(f, clock=c, more_clocks=[], more_dates=[]) for c in f.more_clocks]
    variants += [dataclasses.replace(f, date=d, more_clocks=[], more_dates=[]) for d in f.more_dates]
    for g in variants:
        moment, _ = combine(g, now, settings, alarm=alarm)
        if moment is None:
            continue
        if utc(moment) <= utc(now):
            raise TimeParseError("One of those times is in the past.")
        item = dict(slots)
        item["when"] = iso(moment)
        item.pop("end", None)
        out.append(item)
    return out
