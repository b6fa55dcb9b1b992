"""Recurrences: "every weekday at 7", "every other Tuesday", "the first Monday of every
month", "every 2 hours", "daily at noon", "every weekday until June" -> an RFC 5545 RRULE.

The RRULE's BYHOUR/BYMINUTE and UNTIL are local wall-clock values (floating, no zone):
the item's zone is kept with its dtstart. `next_occurrence` expands day-or-longer rules
in naive local time with dateutil.rrule and then attaches the zone, so a 07:00 alarm
stays at 07:00 across DST changes; hour/minute/second rules expand in UTC (elapsed time:
"every 2 hours" stays 2 hours apart across DST).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrulestr

from .dates import WD
from .durations import parse_duration
from .text import WEEKDAY_NUM
from .zones import localize, utc

RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
FREQ_OF_UNIT = {"sec": "SECONDLY", "min": "MINUTELY", "hour": "HOURLY", "day": "DAILY",
                "week": "WEEKLY", "fortnight": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
FREQ_OF_ADVERB = {"daily": "DAILY", "nightly": "DAILY", "weekly": "WEEKLY", "fortnightly": "WEEKLY",
                  "monthly": "MONTHLY", "yearly": "YEARLY", "annually": "YEARLY", "hourly": "HOURLY"}
SUBDAILY = ("HOURLY", "MINUTELY", "SECONDLY")

CUE = re.compile(
    rf"\b(?:\d{{1,2}}th(?:,| and|, and|) (?:the )?\d{{1,2}}th (?:day )?of (?:the|each|every) month|twice|\d+ times (?:a|per)|every|each|daily|nightly|weekly|fortnightly|monthly|yearly|annually|hourly|weekdays|weekends|{WD}s(?! from| ago| back))\b"
)


class RecurrenceError(ValueError):
    """A repeat that cannot be scheduled ("every 0 hours")."""


@dataclass
class RecurSpec:
    freq: str | None = None
    interval: int = 1
    byday: list[str] = field(default_factory=list)
    bymonthday: int | list[int] | None = None
    bymonth: int | None = None
    part: str | None = None
    count: int | None = None
    exclude: list[str] = field(default_factory=list)  # "except Sunday": days left out


def _interval(word: str) -> int:
    if word in ("other", "2th"):
        return 2
    if word.endswith("th"):
        return int(word[:-2])
    return int(word)


_ORDWD_MONTHLY = re.compile(
    rf"\b(?:on )?(?:the |every |each )?(?P<ord>[1-5]th|last) (?P<wd>{WD}) (?:of|in) (?:the |each |every )month\b")
_MONTHDAY = re.compile(
    r"\b(?:on )?(?:the |every |each )?(?:(?P<d>\d{1,2}th(?:(?:,| and|, and|) (?:the )?\d{1,2}th)*)|(?P<last>last day))"
    r" (?:day )?of (?:the |each |every )month\b")
_DAYSET = rf"(?:{WD}s?|weekends?|weekdays?)"
# "except Sunday", "apart from Saturdays", "but not on weekends": days taken out of the repeat
_EXCEPT = re.compile(
    rf"\b(?:except(?: for)?|apart from|but not|but|excluding|other than|not)(?: on)?(?: the)? "
    rf"(?P<list>{_DAYSET}(?:(?:,| and| or|, and| nor) (?:on )?{_DAYSET})*)\b")
_EXCEPT_OTHER = re.compile(r"\b(?:except|apart from|but not|excluding|other than)\b")
# "every half an hour", "every quarter of an hour", "every hour and a half", "every 1.5 hours"
_FRACTION_INTERVAL = re.compile(
    r"\b(?:every|each) (?P<dur>half (?:a )?(?:hour|min)|(?:a |1 |3 )?quarters? (?:of )?(?:a )?hour"
    r"|(?:a |1 )?(?:hour|min) and a (?:half|quarter)|\d+ and (?:a )?(?:half|quarter) (?:hour|min)"
    r"|\d+\.\d+ (?:hour|min)|\d+ hour (?:and )?\d+ min)s?\b")
_TIMES_PER = re.compile(r"\b(?:twice|\d+ times) (?:a|per|each|every) (?:day|week|month|year)\b")
_MONTHDAY2 = re.compile(r"\b(?:every|each) (?P<d>\d{1,2}th)\b(?! (?:of|" + WD + r"))")
_INTERVAL = re.compile(
    r"\b(?:every|each) (?P<n>-?\d+|other|[2-9]th) (?P<u>sec|min|hour|day|week|month|year|fortnight)s?\b")
_INTERVAL_WD = re.compile(rf"\b(?:every|each) (?P<n>other|[2-9]th|\d+) (?P<wd>{WD})s?\b")
_UNIT = re.compile(r"\b(?:every|each|per|a) (?P<u>sec|min|hour|day|week|month|year|fortnight)\b")
_ADVERB = re.compile(r"\b(?P<a>daily|nightly|weekly|fortnightly|monthly|yearly|annually|hourly)\b")
_WEEKDAYS = re.compile(r"\b(?:every |each |on |all )?(?:(?P<wk>weekdays?|week days)|(?P<we>weekends?))\b")
_WDLIST = re.compile(
    rf"\b(?:every |each |on )?(?P<list>{WD}s?(?:(?:,| and|, and| or|) (?:every |each |on )?{WD}s?)*)\b")
_PART = re.compile(r"\b(?:every|each) (?P<part>morning|afternoon|evening|night)s?\b")
_COUNT = re.compile(r"\b(?:for )?(?P<n>\d+) times\b")
UNTIL = re.compile(r"\b(?:until|through|up to|ending|ends|stopping) (?P<rest>.+)$")
START = re.compile(r"\b(?:starting|beginning|(?<!apart )from|as of) (?:on )?(?P<rest>.+)$")


def scan(s: str, spans: list[tuple[int, int]]) -> RecurSpec:
    """Find the repeat parts of a canonical string; the spans used are appended to `spans`
    (also when a RecurrenceError is raised, so the caller can still cut them out)."""
    spec = RecurSpec()
    work = s

    def take(m: re.Match[str]) -> None:
        nonlocal work
        spans.append(m.span())
        work = work[:m.start()] + "#" * (m.end() - m.start()) + work[m.end():]

    m = _ORDWD_MONTHLY.search(work)
    if m:
        n = -1 if m["ord"] == "last" else int(m["ord"][:-2])
        spec.freq = "MONTHLY"
        spec.byday = [f"{n}{RRULE_DAYS[WEEKDAY_NUM[m['wd']]]}"]
        take(m)
    m = _MONTHDAY.search(work)
    if m:
        spec.freq = "MONTHLY"
        days = [-1] if m["last"] else sorted({int(d) for d in re.findall(r"(\d{1,2})th", m["d"])})
        spec.bymonthday = days[0] if len(days) == 1 else days
        take(m)
    m = _TIMES_PER.search(work)
    if m:
        take(m)
        raise RecurrenceError("Please say which days or times: I can't choose them for you.")
    m = _FRACTION_INTERVAL.search(work)
    if m:
        take(m)
        secs = round(parse_duration(re.sub(r"^(?:a |1 )?(hour|min) and", r"1 \1 and", m["dur"])).total_seconds())
        if secs <= 0:
            raise RecurrenceError("A repeat needs an interval of at least 1.")
        if secs % 3600 == 0:
            spec.freq, spec.interval = "HOURLY", secs // 3600
        elif secs % 60 == 0:
            spec.freq, spec.interval = "MINUTELY", secs // 60
        else:
            spec.freq, spec.interval = "SECONDLY", secs
    m = _EXCEPT.search(work)
    if m:
        take(m)
        for part in re.findall(_DAYSET, m["list"]):
            spec.exclude += _days_of(part)
    elif _EXCEPT_OTHER.search(work):
        raise RecurrenceError("I can only leave out days of the week from a repeat.")
    m = _INTERVAL.search(work)
    if m and not spec.freq:
        take(m)
        n = _interval(m["n"])
        if n <= 0:
            raise RecurrenceError("A repeat needs an interval of at least 1.")
        spec.freq = FREQ_OF_UNIT[m["u"]]
        spec.interval = n * (2 if m["u"] == "fortnight" else 1)
    m = _INTERVAL_WD.search(work)
    if m:
        take(m)
        n = _interval(m["n"])
        if n <= 0:
            raise RecurrenceError("A repeat needs an interval of at least 1.")
        spec.freq, spec.interval = "WEEKLY", n
        spec.byday = [RRULE_DAYS[WEEKDAY_NUM[m["wd"]]]]
    m = _PART.search(work)
    if m:
        spec.freq = spec.freq or "DAILY"
        spec.part = m["part"]
        take(m)
    m = _UNIT.search(work)
    if m and not spec.freq:
        spec.freq = FREQ_OF_UNIT[m["u"]]
        spec.interval = 2 if m["u"] == "fortnight" else 1
        take(m)
    elif m:
        take(m)
    m = _ADVERB.search(work)
    if m:
        if not spec.freq:
            spec.freq = FREQ_OF_ADVERB[m["a"]]
            spec.interval = 2 if m["a"] == "fortnightly" else 1
            if m["a"] == "nightly":
                spec.part = "night"
        take(m)
    m = _WEEKDAYS.search(work)
    if m:
        spec.byday = RRULE_DAYS[:5] if m["wk"] else RRULE_DAYS[5:]
        spec.freq = "WEEKLY" if spec.freq in (None, "DAILY") else spec.freq
        take(m)
    m = _WDLIST.search(work)
    if m:
        days = re.findall(WD, m["list"])
        spec.byday = [RRULE_DAYS[WEEKDAY_NUM[d]] for d in dict.fromkeys(days)]
        spec.freq = "WEEKLY" if spec.freq in (None, "DAILY") else spec.freq
        take(m)
    m = _MONTHDAY2.search(work)
    if m:
        spec.freq = spec.freq or "MONTHLY"
        spec.bymonthday = int(m["d"][:-2])
        take(m)
    m = _COUNT.search(work)
    if m:
        take(m)
        spec.count = int(m["n"])
        if spec.count <= 0:
            raise RecurrenceError("A repeat needs to happen at least once.")
    m = re.search(r"\b(?:every|each)\b", work)  # a leftover cue word ("every march 3rd")
    if m:
        take(m)
    if spec.exclude:
        _apply_exclusion(spec)
    return spec


def _days_of(word: str) -> list[str]:
    if word.startswith("weekday"):
        return RRULE_DAYS[:5]
    if word.startswith("weekend"):
        return RRULE_DAYS[5:]
    return [RRULE_DAYS[WEEKDAY_NUM[word[:3]]]]


def _apply_exclusion(spec: RecurSpec) -> None:
    """"every day except Sunday" -> BYDAY=MO..SA: a positive day list (no EXDATE needed)."""
    if (spec.freq not in (None, "DAILY", "WEEKLY") or (spec.interval != 1 and not spec.byday)
            or (spec.freq == "WEEKLY" and not spec.byday)):
        raise RecurrenceError("I can only leave out days of the week from a daily or weekly repeat.")
    base = spec.byday or list(RRULE_DAYS)
    days = [d for d in base if d not in spec.exclude]
    if not days:
        raise RecurrenceError("That leaves no day to repeat on: every day it names is also excluded.")
    spec.byday = days
    spec.freq = "WEEKLY"


def build_rrule(spec: RecurSpec, hour: int | list[int] | None, minute: int | list[int] | None,
                until: datetime | None) -> str:
    """The RRULE text, parts in a fixed order (FREQ first) so equal rules compare equal."""
    parts = [f"FREQ={spec.freq}"]
    if spec.interval != 1:
        parts.append(f"INTERVAL={spec.interval}")
    if spec.count:
        parts.append(f"COUNT={spec.count}")
    elif until is not None:
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%S')}")
    if spec.bymonth:
        parts.append(f"BYMONTH={spec.bymonth}")
    if spec.bymonthday:
        parts.append(f"BYMONTHDAY={_csv(spec.bymonthday)}")
    if spec.byday:
        parts.append("BYDAY=" + ",".join(spec.byday))
    if hour is not None and spec.freq not in SUBDAILY:
        parts.append(f"BYHOUR={_csv(hour)}")
        parts.append(f"BYMINUTE={_csv(minute or 0)}")
    return ";".join(parts)


def _csv(v: int | list[int]) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)


_UNTIL_VALUE = re.compile(r"UNTIL=(\d{8}T\d{6})")


def next_occurrence(rrule: str, dtstart: datetime, after: datetime) -> datetime | None:
    """The first occurrence of `rrule` (anchored at aware `dtstart`) strictly after `after`.

    The result is aware in dtstart's zone; None when the rule has ended.
    """
    zone = dtstart.tzinfo
    if zone is None or after.tzinfo is None:
        raise ValueError("next_occurrence needs timezone-aware dtstart and after")
    freq = re.search(r"FREQ=(\w+)", rrule)
    if freq and freq.group(1) in SUBDAILY:
        rule_text = rrule
        u = _UNTIL_VALUE.search(rrule)
        if u:  # the floating local UNTIL, as UTC for the UTC expansion
            local_until = localize(datetime.strptime(u.group(1), "%Y%m%dT%H%M%S"), zone)
            utc_until = local_until.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
            rule_text = rrule.replace(u.group(0), f"UNTIL={utc_until}")
        start = dtstart.astimezone(UTC).replace(tzinfo=None)
        rule = rrulestr(rule_text, dtstart=start)
        nxt = rule.after(after.astimezone(UTC).replace(tzinfo=None), inc=False)
        return None if nxt is None else nxt.replace(tzinfo=UTC).astimezone(zone)
    start = dtstart.astimezone(zone).replace(tzinfo=None)
    rule = rrulestr(rrule, dtstart=start)
    # Start a little before `after` in wall time: a DST shift can put the next instant
    # at a local time earlier than after's local time.
    cursor = after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    for _ in range(64):
        occ = rule.after(cursor, inc=False)
        if occ is None:
            return None
        aware = localize(occ, zone)
        if utc(aware) > utc(after):
            return aware
        cursor = occ
    return None


def upcoming(rrule: str, dtstart: datetime, after: datetime, n: int = 3) -> list[datetime]:
    """The next `n` occurrences strictly after `after`."""
    out: list[datetime] = []
    cur = after
    for _ in range(n):
        nxt = next_occurrence(rrule, dtstart, cur)
        if nxt is None:
            break
        out.append(nxt)
        cur = nxt
    return out
