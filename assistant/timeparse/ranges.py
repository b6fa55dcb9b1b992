"""Time ranges: "from 2 to 4", "6 till 7pm", "between noon and 2", "11 until 12".

The start is the request's time; the end goes to `slots.end`. Without am/pm, the end is
the first such hour after the start; an end given with am/pm settles the start's half
of the day ("from 6 to 7pm" is 18:00-19:00). A range that ends before it starts
("from 5pm to 3pm") or runs past midnight ("from 10pm to 2am") is refused with a sentence
to speak: an event is kept within one day. With a repeat ("every hour between 9 and 5",
"every 30 minutes from 8am to 8pm") the range is a window: the repeat becomes a daily
list of hours (BYHOUR) in local time.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from . import clock as clk
from .dates import WD
from .zones import localize, utc

_CL = (r"(?:(?:half past |quarter past |half )?\d{1,2}(?:[:.]\d{2})?(?: (?:am|pm))?(?: oclock)?|noon|midnight)")
RANGE = re.compile(
    rf"\b(?:(?P<from>from|between) )?(?:at )?(?P<a>{_CL}) (?P<sep>to|until|and|through|-) (?:at )?(?P<b>{_CL})\b"
    r"(?! ?(?:sec|min|hour|day|week|fortnight|month|year|th|times)\b|:|/)")


class RangeError(ValueError):
    """A range that cannot be stored ("from 5pm to 3pm")."""


def find(work: str) -> tuple[clk.Clock, clk.Clock, int, int] | None:
    """(start, end, span start, span end) of a clock range in the canonical string."""
    for m in RANGE.finditer(work):
        if m["sep"] == "and" and m["from"] != "between":
            continue
        if m["sep"] in ("to", "-") and not m["from"] and not _plain_range(m):
            continue  # "10 to 7" is a clock time (6:50)
        a, b = clk.clock_of(m["a"]), clk.clock_of(m["b"])
        if b.settled and not a.settled and not a.midnight:
            # "from 6 to 7pm": the start's half of the day is the end's, if that fits
            options = [h for h in (a.hour % 12, a.hour % 12 + 12) if (h, a.minute) < (b.hour or 24, b.minute)]
            if options:
                a = clk.Clock(max(options), a.minute, True)
        return a, b, m.start(), m.end()
    return None


def _plain_range(m: re.Match[str]) -> bool:
    """"lunch tomorrow 1 to 2": a range, not 1 minute to 2, when nothing says clock ("at",
    "minutes") and the second hour comes after the first ("10 to 7" stays 6:50)."""
    before = m.string[:m.start()]
    if re.search(r"\b(?:at|by|for|about|around|half|quarter|every)\s*$", before):
        return False
    after = m.string[m.end():]
    if not re.match(rf"^(?:$| ?#| (?:to|on|at|in|for|and|please|tomorrow|today|tonight|this|next|{WD})\b)", after):
        return False  # "call 5 to 6 people"
    ha, hb = re.match(r"\d+", m["a"]), re.match(r"\d+", m["b"])
    return bool(ha and hb and int(ha.group(0)) < int(hb.group(0)) <= 12)


def end_of(start: datetime, end: clk.Clock) -> datetime:
    """The end moment of a range that starts at `start` (aware); raises RangeError."""
    zone = start.tzinfo
    day = start.replace(tzinfo=None).date()
    if end.midnight:
        return localize(datetime.combine(day + timedelta(days=1), time()), zone)
    hours = [end.hour % 24] if end.settled else [end.hour % 12, end.hour % 12 + 12]
    for h in sorted(hours):
        cand = localize(datetime.combine(day, time(h, end.minute)), zone)
        if utc(cand) > utc(start):
            return cand
    if end.settled and end.hour >= start.hour:
        raise RangeError("That ends before it starts; please give the start time first.")
    if not end.settled or end.hour < 12 <= start.hour:
        raise RangeError("That runs past midnight; I keep a range within one day, so please "
                         "give it as two parts.")
    raise RangeError("That ends before it starts; please give the start time first.")


def window_hours(first: int, last: int, step_minutes: int, minute: int) -> tuple[list[int], list[int]]:
    """(BYHOUR, BYMINUTE) for a repeat every `step_minutes` from first:minute to last (an hour)."""
    if step_minutes % 60 == 0:
        step = step_minutes // 60
        return list(range(first, last + 1, step)), [minute]
    if 60 % step_minutes == 0:
        return list(range(first, last)), list(range(minute % step_minutes, 60, step_minutes))
    raise RangeError("I can only repeat within hours at a step that divides an hour or a whole "
                     "number of hours.")
