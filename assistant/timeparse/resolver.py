"""Turn the time words of an utterance into a moment, a duration or a recurrence.

Library or our own: measured in bench/time_peers.py. None of dateparser, parsedatetime,
ctparse or recognizers-text handles spoken clock times ("five thirty p m", "half past
six") and recurrences well enough, and all but parsedatetime are 50-200x slower, so the
parsing is our own rule-based grammar (text.py, clock.py, dates.py, durations.py,
recurrence.py); dateutil.rrule expands recurrences, dateutil.relativedelta does month
arithmetic and zoneinfo supplies zones and DST. Rules, in the order they apply:

Clock times
- "5pm", "17:30", "7.30 am", "noon", "midnight", "half past 6", "quarter to 8",
  "twenty past 5", "seven o'clock", "5 30 p m" (speech), "730 in the evening", "at 1030".
- "at 0630"/"for 0630" (a leading zero) and "at 1900 hours" are 24-hour times.
- The am/pm policy for a bare hour is the same in every skill (reminders, alarms,
  calendar), with one exception for alarms, below:
- Ambiguous hour (no am/pm, 1-12, no part of day) and no day named: the next time that
  hour comes round, am or pm, strictly after now ("at 5" at 14:00 -> 17:00 today; at
  18:00 -> 05:00 tomorrow; "3:30" at 04:30 -> 15:30).
- Ambiguous hour on a named day other than today ("tomorrow at 5", "on Friday at 9"),
  and in repeats ("every day at 7"): 1-6 mean pm (13:00-18:00), 7-11 mean am, 12 means
  noon; the hour as said decides ("a quarter to seven" is 06:45).
- Alarms: an hour without am/pm is in the morning ("set an alarm for 7" -> the next 07:00).
- A part of day settles am/pm: morning -> am; afternoon/evening -> pm; night/tonight ->
  pm for 6-11, am of the next day for 12-5 ("tonight at 1" -> 01:00 tomorrow).
- "midnight" on a named day is the end of that day ("tomorrow at midnight" -> 00:00 the
  day after tomorrow); plain "at midnight" is the coming one. "12am" is 00:00.
- A time without a day that has already passed today means tomorrow ("at 7am" said at
  9am -> tomorrow 07:00). A time with "today"/"this morning" that has passed is in the past.

Ranges, anchors, zones (ranges.py, places.py)
- "from 2 to 4", "6 till 7pm", "between noon and 2": the start is `when`, the end is
  slots["end"] (calendar events also get duration_s). "10 to 7" without "from" stays a
  clock time (6:50). A range that ends before it starts or runs past midnight is refused.
- "an hour before the 8pm match", "I leave at 4, remind me 15 minutes before": the offset
  is applied to the clock time said; with no clock time ("10 minutes before my dentist
  appointment") nothing is invented: the words are reported as unresolved.
- "3pm London time", "9am New York time", "5pm UTC", "3pm Eastern": read in that zone
  and converted to the user's; an unknown zone name is unresolved; repeats are local only.
- Unsupported triggers ("when I get home", "at sunset", "after lunch", "on my birthday",
  Easter or Mother's Day) are reported as unresolved (unresolved.py), never guessed.
  Fixed-date holidays (Christmas Eve, New Year's Eve, Halloween) are dates.

Days and dates
- A date without a time gets the configured default time of day ([time] default_time,
  09:00); a part of day without a clock time gets its configured hour ("tomorrow
  morning" -> 08:00, "tonight" -> 21:00). For list/cancel intents a day means its start.
  A date-only "today" whose default time has passed gets the next configured part of
  day still ahead (afternoon, evening, night).
- Weekday alone or "next"/"coming" weekday: the first one after today ("Tuesday" said on
  a Tuesday is a week away); "this Friday": this week's, today included. "Friday next
  week" / "Monday of the following week": that weekday in the next Monday-Sunday week.
- A month and day without a year: the next one, today included ("Feb 29" waits for a
  leap year). "The 15th": the next 15th, today included. Numeric dates are month/day
  (US English) unless the first number cannot be a month ("22/04" is 22 April).
- A weekday said with a date is a check: "Thursday the 15th" is the next 15th that is a
  Thursday, looked for up to two years ahead; past that the date alone counts.
- "Tuesday week" / "next Friday week": that weekday after the coming one. "Monday's
  appointment": a date that stays in the subject, used only if no other day is said.
  Two different days in one one-off request are refused unless said as separate items.
- "12 August in 2027", "June 5 of 2028", "the 2nd of February next year": that year.
  "at the end of the month": its last day. "N days after today" = "in N days".
- Time words inside a name stay in the subject and name no time: "the sunday paper",
  "the evening news", "the weekly meals", "parents evening", "quiz night".
- "The first Tuesday of October", "the last Friday of the month" (next month's if this
  month's has passed), "the 20th of next month", "3 Fridays from now" (the third Friday
  after today).

Offsets and durations
- Hours, minutes and seconds are elapsed time ("in 90 minutes" is 90 real minutes, also
  across a DST change); days, weeks, months and years are calendar steps keeping the
  wall-clock time ("in 2 days" at 10:00 -> 10:00 two days later).
- "in 25" (a bare number after "in") is 25 minutes. Timers: "for 1:30" / "for 1 30" is
  1 h 30 min (H:MM, or H:MM:SS), "for 25" is 25 minutes; "a 15-minute timer" works.
- "1 hour 30" = 1 h 30 min; "a minute and a half" = 90 s; months count as 30 days and
  years as 365 days only when a length is needed (timers, limits).
- "3 days ago" resolves (to the past); creating a reminder for it is refused as past.

Recurrences (RFC 5545 RRULE, expanded with dateutil.rrule)
- BYHOUR/BYMINUTE/UNTIL are local wall-clock values; a daily 07:00 stays at 07:00 local
  across DST. Hourly/minutely repeats are elapsed time. Without a clock time a
  day-or-longer repeat uses the default time (or the part of day: "every morning").
  "until June" ends before June 1st; "until June 15" includes that day; "for 2 weeks"
  ends two weeks from now; "5 times" is COUNT=5.
- Several times of one repeat are one rule: "at 8am and 8pm every day" -> BYHOUR=8,20;
  "at 6:30 and 6:45" -> BYHOUR=6;BYMINUTE=30,45 (times that do not form such a grid are
  refused); "on the 5th and 20th of every month" -> BYMONTHDAY=5,20.
- Exclusions ("except Sunday", "apart from Saturdays", "but not on weekends") become the
  positive BYDAY list (no EXDATE); excluding every day, or from a monthly/hourly repeat,
  or anything but weekdays, is refused. "twice a week" is refused (which days?).
- "every half an hour", "every quarter of an hour", "every hour and a half", "every 1.5
  hours": MINUTELY/HOURLY with that interval. "every hour between 9 and 5", "every 2 hours
  from 8am to 8pm": a daily hour list (window ends included). "for the next 4 weeks": UNTIL.
- "every other Tuesday" / "every 3 days": the count starts at the first matching time
  after now (the next Tuesday), not at the week the request was made in.
- slots["when"] is the first occurrence; store it and pass it as dtstart to
  next_occurrence(rrule, dtstart, after) to get the following ones.

Daylight saving time
- A wall time that does not exist (spring forward: 02:30 on the last Sunday of March in
  Europe/Berlin, second Sunday of March in America/New_York) moves forward by the gap,
  to 03:30. A wall time that exists twice (fall back) means the first one (summer time).

Bad input (an error sentence, never an exception from extract_slots)
- impossible clock times ("at 25:99"), dates ("February 30th"), negative or zero
  offsets, zero intervals ("every 0 hours"), times in the past ("yesterday"),
  and anything beyond 100 years ("in 99999999 years").
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from . import clock as clk
from . import dates as dts
from . import ranges as rng
from . import recurrence as rec
from . import unresolved
from .durations import DURATION, DURATION_RE, Span, parse_duration
from .places import find_zone
from .settings import TimeSettings
from .text import MONTH_NUM, WEEKDAY_NUM, Text, normalize
from .zones import iso, localize, utc

MAX_YEARS = 100
MAX_SECONDS = MAX_YEARS * 365 * 86400


class TimeParseError(ValueError):
    """Time words that cannot be resolved; str(err) is a short sentence to speak."""


@dataclass
class TimeValue:
    """What resolve_expression found: kind "datetime" | "duration" | "recurrence"."""

    kind: str
    value: Any  # aware datetime | int seconds | {"rrule": str, "next": [ISO, ...]}
    grain: str  # "second" | "minute" | "hour" | "day"


@dataclass
class Found:
    """Pieces of time found in one utterance, before they are combined."""

    date: date | None = None
    date_named: bool = False  # a day was named (today, Friday, the 3rd, ...)
    today_named: bool = False  # "today", "this morning", "tonight": no rolling to tomorrow
    clock: clk.Clock | None = None
    part: str | None = None
    offset: Span | None = None
    offset_base: int = 0  # days: "from tomorrow" = 1
    duration: Span | None = None
    recur: rec.RecurSpec | None = None
    until: datetime | None = None
    repeat_for: Span | None = None  # "every 30 minutes for 3 hours"
    now: bool = False  # "now", "right now"
    start: date | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    error: str | None = None
    end_clock: clk.Clock | None = None  # "from 2 to 4": the end (ranges.py)
    more_clocks: list[clk.Clock] = field(default_factory=list)  # "at 8am and 8pm"
    more_dates: list[date] = field(default_factory=list)  # "on Monday and Wednesday"
    anchor: Span | None = None  # "an hour before" the time said: subtracted (negative) or added
    zone: Any = None  # "3pm London time": the zone the clock time is said in
    unresolved: list[tuple[int, int]] = field(default_factory=list)  # spans we cannot resolve
    clock_end: int = -1  # where the clock time / the date ended in the canonical string
    soft_unresolved: list[tuple[int, int]] = field(default_factory=list)  # "after school"
    anchor_span: tuple[int, int] | None = None
    anchor_end: int = -1  # where "... before" ends: a date right after it is the anchor itself
    date_start: int = -1  # "10 minutes before my dentist appointment"
    date_end: int = -1

    @property
    def anything(self) -> bool:
        return any(x is not None for x in (self.date, self.clock, self.part, self.offset,
                                           self.duration, self.recur))


_OFFSETS = [
    (re.compile(rf"\b(?:in|within|after) (?:another |the next |about )?(?P<dur>{DURATION})(?: from now| later| time)?\b"), 0),
    (re.compile(rf"\b(?P<dur>{DURATION}) (?:from now|later|hence|from here)\b"), 0),
    (re.compile(rf"\b(?P<dur>{DURATION}) (?:from|after) today\b"), 0),
    (re.compile(rf"\b(?P<dur>{DURATION}) (?:from|after) tomorrow\b"), 1),
    (re.compile(rf"\b(?P<dur>{DURATION}) (?:ago|before now|earlier)\b"), -1),
]
_NOW = re.compile(r"\b(?:at )?(?:right )?now\b")
# "take the cake out in 25": a bare number after "in" is minutes (documented)
_IN_BARE = re.compile(r"\bin (?P<n>\d{1,3})(?=$|#| (?:to|please|then|for|remind|ok|okay|and)\b)(?! to \d)")
# a timer "for 1:30" / "for 1 30" is 1 h 30 min, "for 25" is 25 minutes (timers only)
_TIMER_HMM = re.compile(r"\b(?:for|of|timer) (?P<h>\d{1,2})[:. ](?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?\b(?! ?(?:am|pm|oclock|sec|min|hour))")
_TIMER_BARE = re.compile(r"\b(?:for|of) (?P<n>\d{1,3})\b(?! ?(?:sec|min|hour|day|week|month|year|am|pm|oclock|th|[:./]))")
# "an hour before the 8pm match", "15 minutes before", "20 minutes after the kids get home"
_ANCHOR = re.compile(rf"\b(?P<dur>{DURATION}) (?P<dir>before|after|prior to|ahead of|earlier than|in advance of)\b"
                     r"(?! (?:now|today|tomorrow|yesterday|that|this)\b| ?\d| (?:noon|midnight)\b)")
_ANCHOR_TAIL = re.compile(r"^(?: (?!(?:to|remind|and|please|on|at|tomorrow|today|tonight)\b)[a-z'#]+){1,5}")
# time words that are part of a name: "the sunday paper", "the evening news", "the weekly meals"
_NAME_WORDS = re.compile(
    rf"\b(?:the|my|our|your|his|her|their) (?P<w>{dts.WD}|morning|afternoon|evening|night|weekly|daily|monthly"
    r"|yearly|annual|nightly|hourly|fortnightly)"
    r" (?!(?:at|on|in|of|and|or|to|after|before|from|until|each|every|week|next|this|i|we|please|remind|tomorrow"
    r"|today|tonight|then|is|for|by|with|the|a|#|\d+|sun|mon|tue|wed|thu|fri|sat|am|pm|morning|afternoon|evening"
    r"|night|look|looks|like|schedule|calendar|agenda|diary|plans?|free|busy|alarms?|reminders?|events?)\b)(?=[a-z])")
_NAMED_EVENTS = re.compile(r"\b(?:parents'?|parent teacher|quiz|games?|movie|film|date|poker|pizza|bingo|karaoke"
                           r"|curry|wine|open|family|ladies|lads|girls|boys) (?P<w>evening|night|morning)\b")
# cheap tests that skip the costlier passes for the many requests without such words
_LEFTOVER_CLOCK = re.compile(r"\b(?:at \d{1,2}(?:[:.]\d{2})?\b(?! ?(?:sec|min|hour|day|week|month|year|th|%))"
                             r"|\d{1,2}[:.]\d{2}\b(?! ?(?:sec|min|hour))|\d{1,2} (?:am|pm)\b)")
# "from Monday to Friday", "Monday through Friday"; "from the 3rd to the 10th" (da: dates)
_DAY_RANGE = re.compile(
    rf"\b(?:(?P<from>from|between) )?(?:(?:on )?(?P<a>{dts.WD})|the (?P<da>\d{{1,2}}th)) (?P<sep>to|until|through|thru|-|and)"
    rf" (?:(?:the )?(?P<b>{dts.WD})\b|the (?P<db>\d{{1,2}}th))(?! (?:of )?(?:next |this )?week)")
_RANGE_WORDS = re.compile(r" (?:to|until|and|through|-) ")
_ANCHOR_WORDS = re.compile(r" (?:before|after|prior to|ahead of|earlier than|in advance of)\b")
_WEEKDAY_MORE = re.compile(rf"^(?:,| and| or|, and)(?: on)? (?P<wd>{dts.WD})\b(?!'s)")
_PART = re.compile(
    r"\b(?:(?P<this>this|tomorrow|in the|at|on|during the|every) )?(?P<part>morning|afternoon|evening|night)\b")
_UNTIL_MONTH = re.compile(rf"^(?:the end of )?(?P<mon>{dts.MON})(?: (?P<y>\d{{4}}))?\b")


class _Scanner:
    """Runs the grammar passes over a canonical string, masking what each pass used."""

    def __init__(self, s: str) -> None:
        self.text = s
        self.work = s
        self.spans: list[tuple[int, int]] = []

    def take(self, m: re.Match[str], offset: int = 0) -> None:
        self.take_span(m.start() + offset, m.end() + offset)

    def take_span(self, a: int, b: int) -> None:
        if self.work[b:b + 2] != "'s":  # "monday's dentist appointment": a date, still the subject
            self.spans.append((a, b))
        self.mask(a, b)

    def mask(self, a: int, b: int) -> None:
        """Hide [a, b) from later passes without taking it from the subject."""
        self.work = self.work[:a] + "#" * (b - a) + self.work[b:]


def scan(s: str, today: date, *, recurrence: bool = True, alarm: bool = False,
         bare_duration: bool = False, timer: bool = False) -> Found:
    """Find every time piece in canonical string `s`. Errors land in Found.error."""
    f = Found()
    sc = _Scanner(s)
    try:
        _prescan(sc, f, timer=timer)
        _scan(sc, f, today, recurrence=recurrence, alarm=alarm, bare_duration=bare_duration)
        _scan_more(sc, f, today, recurrence=recurrence)
        if f.clock is None and f.offset is None and f.soft_unresolved:
            f.unresolved += f.soft_unresolved  # "after lunch" with no clock time: when is that?
            sc.spans += f.soft_unresolved
        if f.anchor is not None and f.clock is None and not _anchored_on_date(f):
            if f.anchor_span:
                f.unresolved.append(f.anchor_span)  # "before my dentist appointment": when is that?
        elif f.anchor is not None and f.anchor_span:
            # "10 minutes after the film starts at 9pm to check on the kids": the anchor's
            # words are not the subject when the request names one
            mm = re.match(r"^((?: (?:[a-z0-9']+|#+)){0,8}?) to ", sc.work[f.anchor_span[1]:])
            if mm:
                sc.take_span(f.anchor_span[0], f.anchor_span[1] + len(mm.group(1)))
        if f.clock is not None and f.end_clock is None and _LEFTOVER_CLOCK.search(sc.work):
            raise clk.ClockError("I heard more than one time in that; please ask for one at a time.")
    except (clk.ClockError, dts.DateError, rec.RecurrenceError, rng.RangeError) as exc:
        f.error = str(exc)
    except (ValueError, OverflowError):
        f.error = "I could not work out that time."
    f.spans = sc.spans
    return f


def _prescan(sc: _Scanner, f: Found, *, timer: bool) -> None:
    """Passes that must run before the main grammar: names, what we cannot resolve, zones,
    ranges, anchors and timer lengths."""
    for rx in (_NAMED_EVENTS, _NAME_WORDS):
        for m in rx.finditer(sc.work):
            sc.mask(m.start("w"), m.end("w"))
    for a, b in unresolved.find(sc.work):
        f.unresolved.append((a, b))
        sc.take_span(a, b)
    for a, b in unresolved.find(sc.work, soft=True):
        f.soft_unresolved.append((a, b))
        sc.mask(a, b)
    z = find_zone(sc.work)
    if z is not None:
        sc.take_span(z[1], z[2])
        if z[0] is None:  # "3pm Narnia time": a zone we do not know
            f.unresolved.append((z[1], z[2]))
        else:
            f.zone = z[0]
    r = rng.find(sc.work) if _RANGE_WORDS.search(sc.work) else None
    if r is not None:
        f.clock, f.end_clock = r[0], r[1]
        sc.take_span(r[2], r[3])
    m = _ANCHOR.search(sc.work) if _ANCHOR_WORDS.search(sc.work) else None
    if m:
        span = parse_duration(m["dur"])
        if span.negative or span.total_seconds() <= 0:
            raise dts.DateError("That offset needs a length above zero.")
        if m["dir"] not in ("after",):
            span = Span(-span.years, -span.months, -span.days, -span.seconds, negative=True)
        f.anchor = span
        f.anchor_end = m.end()
        sc.take(m)
        tail = _ANCHOR_TAIL.match(sc.work[m.end():])  # kept for the subject
        f.anchor_span = (m.start(), m.end() + (tail.end() if tail else 0))
    if timer:
        m = _TIMER_HMM.search(sc.work)
        if m:
            f.duration = Span(seconds=int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"] or 0))
            sc.take_span(m.start("h"), m.end())
        else:
            m = _TIMER_BARE.search(sc.work)
            if m and not DURATION_RE.search(sc.work):
                f.duration = Span(seconds=int(m["n"]) * 60)
                sc.take_span(m.start("n"), m.end())


def _scan_more(sc: _Scanner, f: Found, today: date, *, recurrence: bool) -> None:
    """Further clock times or days joined by "and": a repeat's hour list, or more items."""
    bare = re.compile(r"(?:at )?(?P<h>\d{1,2})\b(?! ?(?:sec|min|hour|day|week|month|year|th|/|:|\.\d))")
    while f.clock is not None and f.end_clock is None and f.clock_end >= 0:
        m = re.match(r"(?:,| and| then|, and|)(?: again| also)?(?: then)?(?: at)? ", sc.work[f.clock_end:])
        if not m:
            break
        if not m.group(0).strip() and not re.match(r" \d{1,2}(?:[:.]\d{2})? (?:am|pm)\b", sc.work[f.clock_end:]):
            break  # without "and" only a full clock time ("at 8am, 1pm") continues the list
        pos = f.clock_end + m.end()
        got = None
        for rx, kind in clk.PATTERNS:
            mm = rx.match(sc.work, pos)
            if mm:
                got = (clk.clock_from_match(mm, kind), mm.end())
                break
        if got is None:
            mm = bare.match(sc.work, pos)
            if not mm:
                break
            got = (clk.clock_from_match(mm, "h"), mm.end())
        f.more_clocks.append(got[0])
        sc.take_span(f.clock_end, got[1])
        f.clock_end = got[1]
    while f.date is not None and f.recur is None and f.date_end >= 0:
        m = _WEEKDAY_MORE.match(sc.work[f.date_end:])
        if not m:
            break
        f.more_dates.append(dts.weekday_after(today, WEEKDAY_NUM[m["wd"]], include_today=False))
        sc.take_span(f.date_end, f.date_end + m.end())
        f.date_end += m.end()


def _scan(sc: _Scanner, f: Found, today: date, *, recurrence: bool, alarm: bool,
          bare_duration: bool) -> None:
    day_range = next((m for m in _DAY_RANGE.finditer(sc.work)
                      if m["sep"] != "and" or m["from"] == "between"), None) if recurrence else None
    if day_range:
        if not (recurrence and rec.CUE.search(sc.work)) or day_range["da"]:
            raise dts.DateError("I can't set one item over a range of days: say each day, or a "
                                "repeat like \"every day from Monday to Friday\".")
        sc.take(day_range)  # "every day from Monday to Friday": those days of the week
    if recurrence and rec.CUE.search(sc.work):
        m = rec.UNTIL.search(sc.work)
        if m:
            sc.take_span(m.start(), m.start("rest"))
            f.until, used = _until(m["rest"], today)
            sc.take_span(m.start("rest"), m.start("rest") + used)
        m = rec.START.search(sc.work)
        if m:
            sub = scan(m["rest"].split(" at ")[0], today, recurrence=False)
            if sub.date and not sub.error:
                f.start = sub.date
                sc.take_span(m.start(), m.start("rest") + max(b for _, b in sub.spans))
        spans: list[tuple[int, int]] = []
        try:
            spec = rec.scan(sc.work, spans)
        finally:
            for a, b in spans:
                sc.take_span(a, b)
        m = re.search(r"\bfor (?:the next |the coming |another |the following )?(?P<dur>" + DURATION + r")\b", sc.work)
        m1 = re.search(r"\bfor (?:the next |the coming |another |the following )(?P<unit>hour|day|week|fortnight|month|year)\b",
                       sc.work)
        if m and spec.freq and not spec.count:  # "every day for 2 weeks"
            f.repeat_for = parse_duration(m["dur"])
            sc.take(m)
        elif m1 and spec.freq and not spec.count:  # "every 10 minutes for the next hour"
            f.repeat_for = parse_duration("1 " + m1["unit"])
            sc.take(m1)
        if day_range:
            first, last = WEEKDAY_NUM[day_range["a"]], WEEKDAY_NUM[day_range["b"]]
            days = [(first + k) % 7 for k in range((last - first) % 7 + 1)]
            if spec.freq not in (None, "DAILY", "WEEKLY") or spec.interval != 1:
                raise rec.RecurrenceError("I can only repeat on a range of weekdays daily or weekly.")
            spec.byday = [rec.RRULE_DAYS[d] for d in days if rec.RRULE_DAYS[d] not in spec.exclude]
            spec.freq = "WEEKLY"
        f.recur = spec
    for rx, base in _OFFSETS:
        m = rx.search(sc.work)
        if m:
            sc.take(m)
            span = parse_duration(m["dur"])
            if base < 0:  # "3 days ago": a past moment (create intents then refuse it)
                span.negative, base = not span.negative, 0
                if span.negative:
                    span = Span(-span.years, -span.months, -span.days, -span.seconds)
            elif span.negative:
                raise dts.DateError("A time offset cannot be negative.")
            if abs(span.total_seconds()) > MAX_SECONDS:
                raise dts.DateError(f"That is too far away; I can look up to {MAX_YEARS} years ahead.")
            if span.total_seconds() == 0 and base == 0:
                raise dts.DateError("That offset is zero; say how long from now.")
            f.offset, f.offset_base = span, base
            break
    if f.offset is None:
        m = _IN_BARE.search(sc.work)
        if m:
            f.offset = Span(seconds=int(m["n"]) * 60)
            sc.take(m)
    possessive = None  # "friday's meeting" names a day only if no other day is said
    for rx, handler in dts.DATE_PATTERNS:
        m = rx.search(sc.work)
        if m is None:
            continue
        if sc.work[m.end():m.end() + 2] == "'s":
            possessive = possessive or (rx, handler)
            m = next((x for x in rx.finditer(sc.work) if sc.work[x.end():x.end() + 2] != "'s"), None)
            if m is None:
                continue
        sc.take(m)
        f.date = handler(m, today)  # type: ignore[operator]
        f.date_named = True
        f.date_end = m.end()
        f.date_start = m.start()
        break
    own_day = f.date is not None
    _scan_clock(sc, f, alarm)
    for rx, days, part in dts.RELATIVE_DAYS:
        m = rx.search(sc.work)
        if m and sc.work[m.end():m.end() + 2] == "'s" and any(
                x.search(sc.work[:m.start()] + "#" * (m.end() - m.start()) + sc.work[m.end():])
                for x, _, _ in dts.RELATIVE_DAYS):
            sc.mask(m.start(), m.end())  # "tomorrow's meeting tonight": the other day word counts
            continue
        if m and sc.work[m.end():m.end() + 2] != "'s":
            own_day = True
        if m:
            if (recurrence and f.date is not None and f.date != today + timedelta(days=days) and f.date_end >= 0
                    and sc.work[m.end():m.end() + 2] != "'s" and sc.text[f.date_end:f.date_end + 2] != "'s"):
                raise dts.DateError("I heard two different days in that; please ask for one at a time.")
            if f.date is None:
                f.date = today + timedelta(days=days)
                f.date_named = True
                f.today_named = days == 0
            if part:
                f.part = part
            sc.take(m)
            break
    if not own_day and possessive and f.date is None:
        rx, handler = possessive
        m = rx.search(sc.work)
        if m:
            sc.take(m)
            f.date, f.date_named, f.date_end = handler(m, today), True, m.end()  # type: ignore[operator]
    m = _PART.search(sc.work)
    if m:
        f.part = f.part if f.part == "night" and m["part"] == "night" else m["part"]
        if m["this"] == "this" and f.date is None:
            f.date, f.date_named, f.today_named = today, True, True
        elif m["this"] == "tomorrow" and f.date is None:
            f.date, f.date_named = today + timedelta(days=1), True
        sc.take(m)
    m = _NOW.search(sc.work)
    if m and not f.anything:
        f.now = True
        sc.take(m)
    if bare_duration and f.offset is None:
        m = DURATION_RE.search(sc.work)
        if m and sc.work[m.end():m.end() + 4] == " off":  # "ask for a day off"
            m = None
        if m and f.duration is None:
            span = parse_duration(m.group(0))
            if span.negative:
                raise dts.DateError("A duration cannot be negative.")
            f.duration = span
            sc.take(m)


def _scan_clock(sc: _Scanner, f: Found, alarm: bool) -> None:
    if f.clock is not None:  # a range already gave the start
        return
    best = None
    for rx, kind in clk.PATTERNS:
        m = rx.search(sc.work)
        if m and best is None:
            best = (m, kind)
        elif m and best is not None and m.end() <= best[0].start() and (
                best[0].start() > m.start() and _earlier(m, best[0])):
            best = (m, kind)  # "for 6 and 6:30": the first time said comes first
    if alarm:
        m = clk.FOR_HOUR.search(sc.work)
        if m and best is not None and m.end() <= best[0].start():
            best = (m, "h")
    if best:
        m, kind = best
        sc.take(m)
        f.clock = clk.clock_from_match(m, kind)
        f.clock_end = m.end()
        return
    if alarm:
        m = re.search(r"\b(?:for|up|at) (?P<hm>[0-2]\d[0-5]\d)\b(?! ?(?:sec|min|hour))", sc.work)  # "for 1930"
        if m and int(m["hm"][:2]) < 24:
            f.clock = clk.clock_from_match(m, "hhmm")
            f.clock_end = m.end()
            sc.take(m)
            return
        m = clk.FOR_HOUR.search(sc.work)
        if m:
            f.clock = clk.clock_from_match(m, "h")
            sc.take(m)


def _anchored_on_date(f: Found) -> bool:
    """"2 days before the 15th", "a week before Friday": a date right after the anchor word,
    in whole days, is what the offset counts from ("2 hours before the concert on Friday" is not)."""
    return (f.anchor is not None and f.date is not None and f.anchor.seconds == 0 and f.anchor_end >= 0
            and 0 <= f.date_start - f.anchor_end <= 1)


def _earlier(m: re.Match[str], later: re.Match[str]) -> bool:
    """A clock match before `later` that is joined to it by "and"/","/"then" (a list)."""
    between = later.string[m.end():later.start()]
    return bool(re.fullmatch(r"(?:,| and| then|, and)(?: again| also)?(?: then)?(?: at)? ", between))


def _until(rest: str, today: date) -> tuple[datetime, int]:
    """The last moment of an "until ..." phrase, and how many chars of `rest` it used."""
    m = _UNTIL_MONTH.match(rest)
    if m and not re.match(rf"^(?:the end of )?{dts.MON} (?:the )?\d", rest):
        y = dts.year_of(m["y"])
        month = MONTH_NUM[m["mon"]]
        if rest.startswith("the end of"):
            yy, mm = dts.add_months(date(y or today.year, month, 1), 1)
            first = date(yy, mm, 1)
        else:
            first = date(y or today.year, month, 1)
        if y is None and first <= today:
            first = first.replace(year=first.year + 1)
        return datetime.combine(first, time()) - timedelta(seconds=1), m.end()
    bare = re.match(r"^(\d{1,2})\b(?! ?(?:sec|min|hour|day|week|month|year|th|am|pm|oclock|[:./]))", rest)
    if bare:  # "until 5": an hour
        rest = "at " + rest
    sub = scan(rest if rest.startswith("at ") else rest.split(" at ")[0], today, recurrence=False)
    if sub.error:
        raise dts.DateError(sub.error)
    if sub.date is None and sub.clock is not None:  # "every hour until 6pm": today
        c = sub.clock
        h = c.hour if c.settled or c.hour >= 7 else c.hour + 12
        return datetime.combine(today, time(h % 24, c.minute)), max(b for _, b in sub.spans) - (3 if bare else 0)
    if sub.date is None:
        raise dts.DateError("I could not tell until when it should repeat.")
    used = max(b for _, b in sub.spans)
    if sub.clock is not None:
        return datetime.combine(sub.date, time(sub.clock.hour % 24, sub.clock.minute)), used
    return datetime.combine(sub.date, time(23, 59, 59)), used


# --------------------------------------------------------------------------- combining

def _hour_for(c: clk.Clock, part: str | None, *, future_day: bool, alarm: bool) -> tuple[int, int]:
    """Settle am/pm for a clock time; returns (hour 0-23, extra days)."""
    if c.settled:
        return c.hour, (1 if c.midnight else 0)
    h = c.hour
    if part == "morning":
        return h % 12, 0
    if part in ("afternoon", "evening"):
        return (h % 12) + 12, 0
    if part in ("night", "tonight"):
        if h == 12:
            return 0, 1
        if h <= 5:
            return h, 1
        return h % 12 + 12, 0
    if future_day:
        said = c.said_hour or h
        if alarm or 7 <= said <= 12:
            return h % 12 if h != 12 else 12, 0
        return h % 12 + 12, 0
    return h, 0  # caller picks am/pm by what comes next


def _next_clock(now: datetime, c: clk.Clock, zone: Any) -> datetime:
    """The next wall time `c` (either half of the day if ambiguous), strictly after now."""
    base = now.replace(tzinfo=None, second=0, microsecond=0)
    hours = [c.hour % 24] if c.settled else [c.hour % 12, c.hour % 12 + 12]
    best: datetime | None = None
    for d in (0, 1):
        for h in hours:
            cand = localize(datetime.combine(base.date() + timedelta(days=d), time(h, c.minute, c.second)), zone)
            if utc(cand) > utc(now) and (best is None or utc(cand) < utc(best)):
                best = cand
    assert best is not None
    return best


def combine(f: Found, now: datetime, settings: TimeSettings, *, alarm: bool = False,
            day_start: bool = False) -> tuple[datetime | None, str]:
    """Combine found pieces into one aware moment and its grain (or None if there is none).

    A zone said with the time ("3pm London time") is resolved in that zone and converted;
    an anchor offset ("an hour before") is applied to the time said, and without a clock
    time there is nothing to count from (None: the caller reports it as unresolved)."""
    if f.zone is not None and f.zone != settings.zone:
        moment, grain = combine(dataclasses.replace(f, zone=None), now,
                                dataclasses.replace(settings, zone=f.zone), alarm=alarm, day_start=day_start)
        return (moment.astimezone(settings.zone) if moment is not None else None), grain
    if f.anchor is not None:
        if f.clock is None and not _anchored_on_date(f):
            return None, "minute"
        moment, grain = _combine(dataclasses.replace(f, anchor=None), now, settings, alarm=alarm,
                                 day_start=day_start)
        if moment is None:
            return None, grain
        sp = f.anchor
        wall = moment.replace(tzinfo=None) + relativedelta(years=sp.years, months=sp.months, days=sp.days)
        shifted = (localize(wall, settings.zone).astimezone(UTC) + timedelta(seconds=sp.seconds))
        return shifted.astimezone(settings.zone), "minute"
    return _combine(f, now, settings, alarm=alarm, day_start=day_start)


def _combine(f: Found, now: datetime, settings: TimeSettings, *, alarm: bool = False,
             day_start: bool = False) -> tuple[datetime | None, str]:
    zone = settings.zone
    local_now = now.astimezone(zone)
    today = local_now.date()
    if f.offset is not None:
        sp = f.offset
        base = local_now.replace(tzinfo=None) + timedelta(days=f.offset_base)
        shifted = base + relativedelta(years=sp.years, months=sp.months, days=sp.days)
        # calendar part in wall time, elapsed part in UTC (aware + timedelta is wall time)
        moment = (localize(shifted, zone).astimezone(UTC)
                  + timedelta(seconds=sp.seconds)).astimezone(zone)
        if f.clock is None and f.part is None:
            if sp.seconds == 0 and day_start:  # list/cancel "in 2 days": that day
                return localize(datetime.combine(moment.date(), time()), zone), "day"
            return moment, "second" if sp.seconds else "day"
        f = Found(date=moment.date(), date_named=True, clock=f.clock, part=f.part)
    if f.date is None and f.clock is None and f.part is None:
        if f.now:
            return local_now, "second"
        return None, "day"
    if f.clock is not None:
        c = f.clock
        if f.date is None and f.part is None:
            if alarm and not c.settled:  # alarms: an hour alone is in the morning (12 is noon)
                c = clk.Clock(c.hour % 12 if c.hour != 12 else 12, c.minute, True, second=c.second)
            if c.midnight:
                return localize(datetime.combine(today + timedelta(days=1), time()), zone), "minute"
            return _next_clock(local_now, c, zone), "minute"
        if f.date is None:  # part of day, no day: today if still ahead, else tomorrow
            h, extra = _hour_for(c, f.part, future_day=False, alarm=alarm)
            cand = localize(datetime.combine(today + timedelta(days=extra), time(h, c.minute, c.second)), zone)
            if utc(cand) <= utc(local_now):
                cand = localize(datetime.combine(today + timedelta(days=extra + 1), time(h, c.minute, c.second)), zone)
            return cand, "minute"
        future_day = f.date != today
        if not c.settled and f.part is None and not future_day:
            # "today at 5": the next 5 o'clock today
            for h in (c.hour % 12, c.hour % 12 + 12):
                cand = localize(datetime.combine(f.date, time(h, c.minute, c.second)), zone)
                if utc(cand) > utc(local_now):
                    return cand, "minute"
            return localize(datetime.combine(f.date, time(c.hour % 12 + 12, c.minute)), zone), "minute"
        h, extra = _hour_for(c, f.part, future_day=future_day, alarm=alarm)
        return localize(datetime.combine(f.date + timedelta(days=extra), time(h, c.minute, c.second)), zone), "minute"
    # no clock time
    if f.part is not None:
        t = settings.part_time(f.part)
        d = f.date
        if d is None:
            d = today
            if utc(localize(datetime.combine(d, t), zone)) <= utc(local_now):
                d = today + timedelta(days=1)
        return localize(datetime.combine(d, t), zone), "hour"
    assert f.date is not None
    if day_start:
        return localize(datetime.combine(f.date, time()), zone), "day"
    t = settings.default_time
    if f.date == today:
        for cand_t in (t, settings.afternoon, settings.evening, settings.night):
            if cand_t >= t and utc(localize(datetime.combine(today, cand_t), zone)) > utc(local_now):
                t = cand_t
                break
    return localize(datetime.combine(f.date, t), zone), "day"


def recurrence_value(f: Found, now: datetime, settings: TimeSettings, *, alarm: bool = False
                     ) -> dict[str, Any]:
    """{"rrule": str, "next": [3 ISO]} for a Found with a recurrence; raises TimeParseError."""
    spec = f.recur
    assert spec is not None
    zone = settings.zone
    local_now = now.astimezone(zone)
    if f.date is not None and spec.freq in (None, "YEARLY", "MONTHLY") and not spec.byday:
        if spec.freq in (None, "YEARLY") and f.date_named and spec.bymonthday is None:
            spec.freq = spec.freq or "YEARLY"
            if spec.freq == "YEARLY":
                spec.bymonth, spec.bymonthday = f.date.month, f.date.day
        elif spec.freq == "MONTHLY" and spec.bymonthday is None:
            spec.bymonthday = f.date.day
    elif f.date is not None and f.start is None:
        f.start = f.date
    if spec.freq is None:
        raise TimeParseError("I could not tell how often to repeat that.")
    if f.zone is not None and f.zone != settings.zone:
        raise TimeParseError("I can only repeat in local time; please give the time as it is here.")
    hour: Any = None
    minute: Any = None
    if spec.freq in rec.SUBDAILY and f.clock is not None and f.end_clock is not None:
        hour, minute = _window(f, spec)  # "every hour between 9 and 5": a daily hour list
    if spec.freq not in rec.SUBDAILY and hour is None:
        part = spec.part or f.part
        if f.clock is not None:
            h, _ = _hour_for(f.clock, part, future_day=True, alarm=alarm)
            hour, minute = h % 24, f.clock.minute
            if f.more_clocks:
                hour, minute = _hour_lists([f.clock, *f.more_clocks], part, alarm)
        elif part:
            t = settings.part_time(part)
            hour, minute = t.hour, t.minute
        else:
            hour, minute = settings.default_time.hour, settings.default_time.minute
    until = f.until
    if f.repeat_for is not None:
        sp = f.repeat_for
        until = local_now.replace(tzinfo=None, microsecond=0) + relativedelta(
            years=sp.years, months=sp.months, days=sp.days, seconds=int(sp.seconds))
    rule = rec.build_rrule(spec, hour, minute, until)
    start_naive = local_now.replace(tzinfo=None, second=0, microsecond=0)
    if f.start is not None and f.start > local_now.date():
        start_naive = datetime.combine(f.start, time())
    dtstart = localize(start_naive, zone)
    after = now if utc(dtstart) <= utc(now) else utc(dtstart) - timedelta(seconds=1)
    if spec.interval > 1 and spec.freq not in rec.SUBDAILY:
        # "every other Tuesday": the first one is the next Tuesday, and the count of
        # weeks starts there (not at the week the request was made in).
        single = rec.build_rrule(dataclasses.replace(spec, interval=1, count=None), hour, minute, None)
        first = rec.next_occurrence(single, dtstart, after)
        if first is not None:
            dtstart, after = first, utc(first) - timedelta(seconds=1)
    try:
        nxt = rec.upcoming(rule, dtstart, after, 3)
    except (ValueError, OverflowError):
        raise TimeParseError("I could not work out when that repeats.") from None
    if not nxt:
        raise TimeParseError("That repeat has no times left in the future.")
    return {"rrule": rule, "next": [iso(d) for d in nxt]}


def _hour_lists(clocks: list[clk.Clock], part: str | None, alarm: bool) -> tuple[Any, Any]:
    """BYHOUR and BYMINUTE for "at 8am and 8pm" / "at 6:30 and 6:45"; every hour meets every
    minute in an RRULE, so times that do not form such a grid are refused."""
    times = set()
    for c in clocks:
        h, _ = _hour_for(c, part, future_day=True, alarm=alarm)
        times.add((h % 24, c.minute))
    hours = sorted({h for h, _ in times})
    minutes = sorted({m for _, m in times})
    if len(hours) * len(minutes) != len(times):
        raise TimeParseError("I can repeat at several times only when they share their minutes, "
                             "like 7:00 and 19:00 or 6:30 and 6:45; please set the others separately.")
    return (hours if len(hours) > 1 else hours[0]), (minutes if len(minutes) > 1 else minutes[0])


def _window(f: Found, spec: rec.RecurSpec) -> tuple[Any, Any]:
    """A sub-daily repeat inside a daily window -> a DAILY/WEEKLY rule with an hour list."""
    assert f.clock is not None and f.end_clock is not None
    first, _ = _hour_for(f.clock, f.part, future_day=True, alarm=False)
    last, _ = _hour_for(f.end_clock, f.part, future_day=True, alarm=False)
    if f.end_clock.midnight:
        last = 24
    if last <= first:
        raise TimeParseError("That window ends before it starts; please give the earlier time first.")
    if spec.freq == "SECONDLY":
        raise TimeParseError("I can only repeat within hours at minutes or hours.")
    step = spec.interval * (60 if spec.freq == "HOURLY" else 1)
    try:
        hours, minutes = rng.window_hours(first, min(last, 23), step, f.clock.minute)
    except rng.RangeError as exc:
        raise TimeParseError(str(exc)) from None
    spec.freq = "WEEKLY" if spec.byday else "DAILY"
    spec.interval = 1
    return (hours if len(hours) > 1 else hours[0]), (minutes if len(minutes) > 1 else minutes[0])


def resolve_expression(expr: str, now: datetime, settings: TimeSettings) -> TimeValue:
    """Resolve a bare time expression ("tomorrow at 5pm", "ninety seconds", "every Monday").

    `now` is aware (naive means settings.zone). Raises TimeParseError with a speakable
    sentence when the words name an impossible time or none at all.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.zone)
    if len(expr) > 400:
        raise TimeParseError("That is too long to be a time.")
    t = normalize(expr)
    local_now = now.astimezone(settings.zone)
    f = scan(t.norm, local_now.date(), bare_duration=True)
    if f.error:
        raise TimeParseError(f.error)
    if f.recur is not None:
        return TimeValue("recurrence", recurrence_value(f, now, settings), "minute")
    if f.duration is not None and f.date is None and f.clock is None and f.offset is None:
        secs = f.duration.total_seconds()
        if secs > MAX_SECONDS:
            raise TimeParseError(f"That is too long; I can count up to {MAX_YEARS} years.")
        return TimeValue("duration", round(secs), "second")
    moment, grain = combine(f, now, settings)
    if moment is None:
        raise TimeParseError("I did not hear a time in that.")
    return TimeValue("datetime", moment, grain)


def now_in(settings: TimeSettings) -> datetime:
    return datetime.now(UTC).astimezone(settings.zone)


__all__ = [
    "Found",
    "Text",
    "TimeParseError",
    "TimeValue",
    "combine",
    "normalize",
    "recurrence_value",
    "resolve_expression",
    "scan",
]
