"""Durations: "10 min", "1 hour 30", "a minute and a half", "two and a half hours".

A duration is kept as calendar parts (years, months, days) plus elapsed seconds, because
"in two days" means the same wall-clock time two days on, while "in 90 minutes" means
90 minutes of elapsed time even across a daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT = r"(?:sec|min|hour|day|week|fortnight|month|year)"
NUM = r"(?:-?\d+(?:\.\d+)?(?:/[1-9]\d?)?|a|one)"
_FRACTION = r"(?: and (?:a half|half|a quarter|3 quarters))"
TERM = (
    rf"(?:{NUM}{_FRACTION}?(?: more| full| whole| extra)? {UNIT}{_FRACTION}?"
    rf"|half (?:a )?{UNIT}|(?:a |1 |3 )?quarters? (?:of )?(?:a )?{UNIT})"
)
# A sequence of terms, optionally ending with a bare number ("1 hour 30" = 1 h 30 min).
DURATION = rf"{TERM}(?:(?: and | plus | ){TERM})*(?: (?:and )?\d{{1,2}}\b(?! ?(?:(?:{UNIT}|am|pm|oclock|th)\b|:)))?"
DURATION_RE = re.compile(rf"\b{DURATION}")

SECONDS = {"sec": 1, "min": 60, "hour": 3600, "day": 86400, "week": 604800,
           "fortnight": 1209600, "month": 30 * 86400, "year": 365 * 86400}
SMALLER = {"hour": "min", "min": "sec"}


@dataclass
class Span:
    """A length of time: calendar parts and elapsed seconds."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: float = 0.0
    negative: bool = False

    def total_seconds(self) -> float:
        """Approximate length (months = 30 days, years = 365 days): timers and limits."""
        return self.seconds + 86400 * (self.days + 30 * self.months + 365 * self.years)

    def add(self, unit: str, amount: float) -> None:
        if amount < 0:
            self.negative = True
        if unit in ("year", "month"):
            whole = int(amount)
            frac = amount - whole
            if unit == "year":
                self.years += whole
                self.months += round(frac * 12)
            else:
                self.months += whole
                self.days += round(frac * 30)
        elif unit in ("day", "week", "fortnight"):
            d = amount * SECONDS[unit] / 86400
            whole = int(d)
            self.days += whole
            self.seconds += (d - whole) * 86400
        else:
            self.seconds += amount * SECONDS[unit]


def _num(tok: str) -> float:
    if tok in ("a", "one"):
        return 1.0
    if "/" in tok:  # "1/2 hour", "3/4h"
        a, b = tok.split("/")
        return float(a) / float(b)
    return float(tok)


def parse_duration(text: str) -> Span:
    """Value of a canonical string that DURATION_RE matched."""
    toks = text.split()
    span = Span()
    pending: float | None = None
    last_unit: str | None = None
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in SECONDS:
            span.add(t, 1.0 if pending is None else pending)
            pending, last_unit = None, t
        elif t == "and" and (toks[i + 1:i + 3] in (["a", "half"], ["a", "quarter"], ["3", "quarters"])
                             or toks[i + 1:i + 2] == ["half"]):
            skip = 2 if toks[i + 1] == "half" else 3
            frac = {"half": 0.5, "quarter": 0.25, "quarters": 0.75}[toks[i + skip - 1]]
            if pending is not None:
                pending += frac
            elif last_unit is not None:
                span.add(last_unit, frac)
            i += skip
            continue
        elif t == "half":
            pending = 0.5 * (pending if pending is not None else 1.0)
            if i + 1 < len(toks) and toks[i + 1] == "a":
                i += 1
        elif t in ("quarter", "quarters"):
            pending = 0.25 * (pending if pending is not None else 1.0)
            while i + 1 < len(toks) and toks[i + 1] in ("of", "a"):
                i += 1
        elif t in ("and", "plus", "more", "full", "whole", "extra"):
            pass
        else:
            try:
                pending = _num(t)
            except ValueError:
                pass
        i += 1
    if pending is not None and last_unit in SMALLER:
        span.add(SMALLER[last_unit], pending)
    return span
