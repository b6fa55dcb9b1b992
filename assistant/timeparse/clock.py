"""Clock times: "5pm", "17:30", "7.30", "5 30 pm", "half past 6", "quarter to 8", "noon".

Each pattern works on the canonical string of `text.normalize`. A match becomes a
`Clock`: hour and minute, and whether am/pm is already settled (a 24-hour time, an
explicit am/pm, noon, midnight) or still ambiguous ("at 5") for the resolver to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PART = r"(?:morning|afternoon|evening|night|tonight)"
_U = r"(?:sec|min|hour|day|week|fortnight|month|year|th)\b"


@dataclass
class Clock:
    hour: int  # 0-23 when settled, 1-12 when ambiguous
    minute: int
    settled: bool  # am/pm known
    midnight: bool = False  # the word "midnight": the end of the named day
    second: int = 0
    said_hour: int | None = None  # "quarter to seven": am/pm is decided on 7, not 6


class ClockError(ValueError):
    """A time of day that cannot exist ("25:99")."""


def _mer(hour: int, minute: int, mer: str | None) -> Clock:
    if mer:
        if not 1 <= hour <= 12 or minute > 59:
            raise ClockError(f"{hour}:{minute:02d} {mer} is not a time of day.")
        h = hour % 12 + (12 if mer == "pm" else 0)
        return Clock(h, minute, True)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ClockError(f"{hour}:{minute:02d} is not a time of day.")
    if hour == 24:
        return Clock(0, 0, True, midnight=True)
    if hour == 0 or hour > 12:
        return Clock(hour, minute, True)
    return Clock(hour, minute, False)


# (regex, kind). Order matters: the first pattern that matches a region wins it.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(
        r"\b(?:(?P<q>a quarter|quarter|1 quarter)|(?P<half>half)|(?P<mm>\d{1,2})(?: min)?)"
        r" (?P<rel>past|after|from|to|before|of|until) (?P<h>\d{1,2}|noon|midnight)(?: (?P<mer>am|pm))?(?: oclock)?\b"
    ), "relative"),
    (re.compile(r"\bhalf (?P<h>\d{1,2})\b(?! ?(?:" + _U + r"|:|/|\.\d|a |an ))"), "half"),
    (re.compile(r"\b(?:at )?(?P<h>\d{1,2})[:.](?P<m>\d{2})(?::(?P<s>\d{2}))?(?: (?P<mer>am|pm))?(?: oclock)?(?! ?" + _U + r")\b"),
     "hm"),
    (re.compile(r"\b(?:at )?(?P<h>\d{1,2}) (?P<m>[0-5]\d)(?: (?P<mer>am|pm)| oclock)?(?! ?(?:" + _U + r"|:|/|\d))\b"),
     "hm"),
    (re.compile(r"\bat (?P<hm>\d{3,4})(?: (?P<mer>am|pm)\b| hour\b)?"), "hhmm"),  # "at 1900 hours"
    (re.compile(r"\b(?:for |by |from |until )(?P<hm>0\d{3})\b(?! ?(?:\d|" + _U + r"))"), "hhmm"),  # "for 0630"
    (re.compile(r"\b(?P<hm>\d{3,4})(?: (?P<mer>am|pm)\b|(?= (?:in the |this )?(?:morning|afternoon|evening|night)|tonight))"),
     "hhmm"),
    (re.compile(r"\b(?:at )?(?P<h>\d{1,2}) (?P<mer>am|pm)(?: oclock)?\b"), "h"),
    (re.compile(r"\b(?:at )?(?P<h>\d{1,2}) oclock(?: (?P<mer>am|pm))?\b"), "h"),
    (re.compile(r"\b(?:at )?(?:12 )?(?P<word>noon|midnight)\b"), "word"),
    (re.compile(r"\bat (?P<h>\d{1,2})\b(?! ?(?:" + _U + r"|/|:|\.\d))"), "h"),
    (re.compile(r"\b(?P<h>\d{1,2}) (?=(?:this |tomorrow |in the )?(?:morning|afternoon|evening|night|tonight|tomorrow|today)\b)"),
     "h"),
]
# Alarms: "an alarm for 7" / "wake me up 6" — a bare hour after "for" is a clock time.
FOR_HOUR = re.compile(r"\b(?:for|up) (?P<h>\d{1,2})\b(?! ?(?:" + _U + r"|/|:|\.\d|\d))")


_CLOCK_WORD = re.compile(r"^(?:(?P<word>noon|midnight)|(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?: (?P<mer>am|pm))?)$")


def clock_of(text: str) -> Clock:
    """One end of a range ("2", "7 pm", "6:30", "noon") as a Clock; raises ClockError."""
    text = text.replace(" oclock", "")
    half = re.match(r"^(half past|quarter past|half) (.+)$", text)
    if half:  # "half six", "half past 6", "quarter past 7"
        c = clock_of(half.group(2))
        return Clock(c.hour, 30 if half.group(1).startswith("half") else 15, c.settled)
    m = _CLOCK_WORD.match(text)
    if not m:
        raise ClockError(f"I could not read {text!r} as a time of day.")
    if m["word"]:
        return clock_from_match(m, "word")
    return _mer(int(m["h"]), int(m["m"] or 0), m["mer"])


def clock_from_match(m: re.Match[str], kind: str) -> Clock:
    """Turn a PATTERNS match into a Clock, or raise ClockError for an impossible time."""
    g = m.groupdict()
    mer = g.get("mer")
    if kind == "word":
        return Clock(12, 0, True) if g["word"] == "noon" else Clock(0, 0, True, midnight=True)
    if kind == "h":
        return _mer(int(g["h"]), 0, mer)
    if kind == "hm":
        c = _mer(int(g["h"]), int(g["m"]), mer)
        if g.get("s"):
            if int(g["s"]) > 59:
                raise ClockError(f"{g['h']}:{g['m']}:{g['s']} is not a time of day.")
            c.second = int(g["s"])
        return c
    if kind == "half":  # British "half three" = 3:30
        return _mer(int(g["h"]), 30, None)
    if kind == "hhmm":
        hm = g["hm"]
        c = _mer(int(hm[:-2]), int(hm[-2:]), mer)
        if len(hm) == 4 and hm[0] == "0" and not mer:  # "0945": a 24-hour time
            c.settled = True
        return c
    # relative: "20 past 3pm", "quarter to noon", "half past 6"
    if g["q"]:
        delta = 15
    elif g["half"]:
        delta = 30
    else:
        delta = int(g["mm"])
    if delta > 59:
        raise ClockError(f"{delta} minutes past the hour is not a time of day.")
    if g["h"] == "noon":
        base = Clock(12, 0, True)
    elif g["h"] == "midnight":
        base = Clock(0, 0, True, midnight=True)
    else:
        base = _mer(int(g["h"]), 0, mer)
    if g["rel"] in ("past", "after", "from"):
        return Clock(base.hour, delta, base.settled, base.midnight)
    if g["rel"] == "of" and g["mm"] and not g.get("q"):
        pass
    minute = 60 - delta if delta else 0
    hour = base.hour - 1 if delta else base.hour
    if base.settled:
        hour %= 24
        return Clock(hour, minute, True)
    return Clock(hour if hour >= 1 else 12, minute, False, said_hour=base.hour)
