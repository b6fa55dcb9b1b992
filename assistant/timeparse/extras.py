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
import itertools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
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


def add_end(f: Found, slots: dict[str, Any], has_length: bool,
            now: datetime | None = None) -> None:
    """slots["end"] (and, for an item with a length such as a calendar event, duration_s)
    for a range; raises TimeParseError."""
    if f.end_clock is None or not slots.get("when"):
        return
    rec = slots.get("recurrence")
    if rec and "BYHOUR=" in rec["rrule"] and "," in rec["rrule"].split("BYHOUR=")[1].split(";")[0]:
        return  # a window of a sub-daily repeat, already in the rule
    start = datetime.fromisoformat(slots["when"])
    if now is not None and f.clock is not None and not f.clock.settled and start.hour >= 12 \
            and start.date() == now.date():
        # "between 9:30 and 10:30 today" said at 10:00: the range under way, not the evening
        morning = start - timedelta(hours=12)
        try:
            end_am = rng.end_of(morning, f.end_clock)
            if utc(end_am) > utc(now) and end_am.hour < 12:
                start = morning
                slots["when"] = iso(start)
        except rng.RangeError:
            pass
    try:
        end = rng.end_of(start, f.end_clock)
    except rng.RangeError as exc:
        raise TimeParseError(str(exc)) from None
    slots["end"] = iso(end)
    if has_length:
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


# ----------------------------------------------------------------- separate items in one request
_NUM = (r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty"
        r"|forty five|fifty|sixty|ninety)")
_UNIT_WORD = re.compile(r"\b(?:sec|secs|second|seconds|min|mins|minute|minutes|hr|hrs|hour|hours)\b", re.IGNORECASE)
# "5 minutes for the eggs and 10 for the toast", "... and another for 5 minutes"
_TIMER_SPLIT = re.compile(rf"\s*(?:,|;|\band\b|\bthen\b|\bplus\b)+\s*(?=(?:(?:a|an) )?(?:another\b|{_NUM}\b))", re.IGNORECASE)
# "wake me at 6 tomorrow and 7 on Sunday", "remind me at 6 to call dad, at 7 to feed the cat"
_DAY = (r"(?:today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|next|the \d"
        r"|weekdays?|weekends?|every|each|daily)")
_CLOCK_SPLIT = re.compile(
    rf"\s*(?:,|;|\band\b|\bthen\b)+\s*(?=(?:at )?\d{{1,2}}(?:[:.]\d{{2}})?(?: ?[ap]\.?m\.?)?\b[^,;]*?\b(?:on |at )?{_DAY})",
    re.IGNORECASE)
# "an alarm for 05:00 and one for 16:00", "... and another at 7"
_ONE_MORE_SPLIT = re.compile(r"\s*(?:,|;|\band\b)+\s*(?:(?:also |then )?(?:another|one|a second)(?: one)? )(?=(?:for|at) \d)",
                             re.IGNORECASE)
_TO_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bthen\b)+\s*(?=(?:at|on|in|by) [^,;]*?\bto\b)", re.IGNORECASE)
_JOINED = re.compile(r",|;|\b(?:and|then|plus)\b", re.IGNORECASE)
_LEAD = {"timer": "set a timer for ", "alarm": "set an alarm ", "reminder": "remind me ",
         "calendar": "add "}


def segments(text: str, domain: str) -> list[str]:
    """Split a request that names separate items; each later part gets the lead words it
    needs to stand alone ("10 for toast" -> "set a timer for 10 minutes for toast")."""
    if not _JOINED.search(text):
        return [text]
    if domain == "timer":
        parts = _split(text, _TIMER_SPLIT)
        if len(parts) < 2 or any(_ends_with_unit(p) and not _starts_another(q) for p, q in itertools.pairwise(parts)):
            return [text]
        unit = _UNIT_WORD.search(parts[0])
        out = [parts[0]]
        for p in parts[1:]:
            p = re.sub(r"^(?:(?:a|an) )?another (?:one |timer )?(?:for |of )?", "", p, flags=re.IGNORECASE)
            if unit and not _UNIT_WORD.search(p):
                p = re.sub(rf"^({_NUM})\b", lambda m: f"{m.group(1)} {unit.group(0)}", p, count=1, flags=re.IGNORECASE)
            out.append(_LEAD["timer"] + p)
        return out
    if domain not in ("alarm", "reminder", "calendar"):
        return [text]
    parts = _split(text, _ONE_MORE_SPLIT)
    if len(parts) > 1:
        return [parts[0]] + [_LEAD[domain] + p for p in parts[1:]]
    for rx in (_TO_SPLIT, _CLOCK_SPLIT):
        parts = _split(text, rx)
        if len(parts) > 1 and re.search(_DAY if rx is _CLOCK_SPLIT else r"\bto\b", parts[0], re.IGNORECASE):
            return [parts[0]] + [_LEAD[domain] + ("at " if re.match(r"\d", p) else "") + p for p in parts[1:]]
    return [text]


def _split(text: str, rx: re.Pattern[str]) -> list[str]:
    return [p.strip() for p in rx.split(text) if p and p.strip()]


def _ends_with_unit(part: str) -> bool:
    return bool(re.search(r"\b(?:sec|secs|second|seconds|min|mins|minute|minutes|hr|hrs|hour|hours|half)\s*$", part, re.IGNORECASE))


def _starts_another(part: str) -> bool:
    return bool(re.match(r"(?:(?:a|an) )?another\b", part, re.IGNORECASE))


def each_item(text: str, kind: str, extract: Callable[[str], Any]) -> Any:
    """Run `extract` (one item's words -> SlotResult) on each separate item of the request:
    the first is the result, the others go to its `more`; an error in any is the result's.
    `kind` ("timer", "alarm", "reminder", "calendar", or "" for no splitting) comes from the
    intent's SlotSpec (slots.item_kind)."""
    parts = segments(text, kind) if kind else [text]
    res = extract(parts[0])
    for part in parts[1:]:
        other = extract(part)
        if other.error:
            res.error, res.more = other.error, []
            res.unresolved += other.unresolved
            return res
        if kind == "timer" and other.slots["label"] is None:
            other.slots["label"] = timer_label_of(part)
        res.unresolved += other.unresolved
        res.more += [other.slots, *other.more]
    if len(parts) > 1 and kind == "timer" and res.slots["label"] is None:
        res.slots["label"] = timer_label_of(parts[0])
    return res


def timer_label_of(text: str) -> str | None:
    """A later timer's name when it has no "timer" word: "... for the toast" -> "toast"."""
    m = re.search(r"\bfor (?:the |my |our )?(?P<x>[a-z][\w'-]*(?: [a-z][\w'-]*)?)\s*$", text, re.IGNORECASE)
    if m and not _UNIT_WORD.fullmatch(m["x"].split()[-1]):
        return m["x"]
    return None
