"""Days and dates: "tomorrow", "next Monday", "March 3rd", "the 15th", "3/3/2015",
"the first Tuesday of October", "the last Friday of the month", "3 Fridays from now".

Patterns run on the canonical string (`text.normalize`). Each match resolves straight
to a `datetime.date` relative to today, following the rules in resolver.py's docstring.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from .text import MONTH_NUM, WEEKDAY_NUM

WD = r"(?:mon|tue|wed|thu|fri|sat|sun)"
MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
ORD_NAMES = {1: "first", 2: "second", 3: "third", 21: "twenty-first", 22: "twenty-second",
             23: "twenty-third", 31: "thirty-first"}
MONTH_NAMES = ["", "January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]


class DateError(ValueError):
    """A date that does not exist ("February 30th")."""


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }".replace(" ", "")


def make_date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise DateError(f"There is no month number {month}.")
    if not 1 <= day <= 31 or day > max(calendar.monthrange(2024, month)[1], 0):
        raise DateError(f"There is no {MONTH_NAMES[month]} {ordinal(day)}.")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError(f"There is no {MONTH_NAMES[month]} {ordinal(day)} in {year}.") from None


def next_month_day(today: date, month: int, day: int) -> date:
    """The next `month`/`day` on or after today (Feb 29 waits for a leap year)."""
    make_date(2024, month, day)  # raises for days no year has
    for year in range(today.year, today.year + 9):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    raise DateError(f"There is no {MONTH_NAMES[month]} {ordinal(day)} soon.")


def next_day_of_month(today: date, day: int) -> date:
    """The next date with this day of the month, today included ("the 31st" skips short months)."""
    if not 1 <= day <= 31:
        raise DateError(f"No month has a {ordinal(day)} day.")
    y, m = today.year, today.month
    for _ in range(14):
        if day <= calendar.monthrange(y, m)[1] and date(y, m, day) >= today:
            return date(y, m, day)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    raise DateError(f"No month has a {ordinal(day)} day.")


def add_months(d: date, n: int) -> tuple[int, int]:
    k = d.year * 12 + d.month - 1 + n
    return k // 12, k % 12 + 1


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-5, or -1 for last) given weekday of a month."""
    days = calendar.monthrange(year, month)[1]
    hits = [date(year, month, d) for d in range(1, days + 1) if date(year, month, d).weekday() == weekday]
    if n == -1:
        return hits[-1]
    if not 1 <= n <= len(hits):
        raise DateError(f"{MONTH_NAMES[month]} {year} has no {ordinal(n)} "
                        f"{calendar.day_name[weekday]}.")
    return hits[n - 1]


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def weekday_after(today: date, weekday: int, include_today: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def year_of(s: str | None) -> int | None:
    if not s:
        return None
    y = int(s)
    return y + 2000 if y < 100 else y


# Each entry: (compiled regex, handler name). Handlers live in resolver-independent
# functions below and receive (match, today) -> date.
def _ord(s: str) -> int:
    return int(s[:-2]) if s.endswith("th") else int(s)


def _rel_month(today: date, rel: str | None) -> tuple[int, int]:
    if rel in ("next", "following"):
        return add_months(today, 1)
    if rel in ("last", "previous"):
        return add_months(today, -1)
    return today.year, today.month


def h_iso(m: re.Match[str], today: date) -> date:
    return make_date(int(m["y"]), int(m["mo"]), int(m["d"]))


def h_numeric(m: re.Match[str], today: date) -> date:
    a, b = int(m["a"]), int(m["b"])
    # Month first (US English) unless that cannot be a month: "22/04" is 22 April.
    month, day = (b, a) if a > 12 else (a, b)
    y = year_of(m.groupdict().get("y"))
    return make_date(y, month, day) if y else next_month_day(today, month, day)


def _wanted_weekday(m: re.Match[str]) -> int | None:
    g = m.groupdict()
    wd = g.get("wdc") or g.get("wdc2")
    return WEEKDAY_NUM[wd] if wd else None


def h_month_day(m: re.Match[str], today: date) -> date:
    month, day = MONTH_NUM[m["mon"]], _ord(m["d"])
    y = year_of(m["y"]) or (today.year + 1 if m.groupdict().get("ny") else None)
    if y:
        return make_date(y, month, day)
    d = next_month_day(today, month, day)
    wd = _wanted_weekday(m)
    if wd is not None and d.weekday() != wd:  # "Fri, Jul 18": the next Jul 18 on a Friday
        for year in range(d.year + 1, today.year + 3):  # ...within two years, else the date wins
            try:
                cand = date(year, month, day)
            except ValueError:
                continue
            if cand.weekday() == wd:
                return cand
    return d


def h_day_of_rel_month(m: re.Match[str], today: date) -> date:
    y, mo = _rel_month(today, m["rel"])
    return make_date(y, mo, _ord(m["d"]))


def h_day_only(m: re.Match[str], today: date) -> date:
    d = next_day_of_month(today, _ord(m["d"]))
    wd = _wanted_weekday(m)
    if wd is not None:  # "Thursday the 15th": the next 15th that is a Thursday
        for _ in range(40):
            if d.weekday() == wd:
                return d
            d = next_day_of_month(d + timedelta(days=1), d.day)
    return d


def h_last_day(m: re.Match[str], today: date) -> date:
    if m["mon"]:
        month = MONTH_NUM[m["mon"]]
        y = year_of(m["y"]) or (today.year if month >= today.month else today.year + 1)
    else:
        y, month = _rel_month(today, m["rel"])
    return date(y, month, calendar.monthrange(y, month)[1])


def h_weekday_after_next(m: re.Match[str], today: date) -> date:
    return weekday_after(today, WEEKDAY_NUM[m["wd"]], include_today=False) + timedelta(weeks=1)


def h_nth_weekday(m: re.Match[str], today: date) -> date:
    n = -1 if m["ord"] == "last" else _ord(m["ord"])
    wd = WEEKDAY_NUM[m["wd"]]
    if m["mon"]:
        month = MONTH_NUM[m["mon"]]
        y = year_of(m["y"])
        if y:
            return nth_weekday(y, month, wd, n)
        for year in (today.year, today.year + 1):
            d = nth_weekday(year, month, wd, n)
            if d >= today:
                return d
        return d
    y, mo = _rel_month(today, m["rel"])
    d = nth_weekday(y, mo, wd, n)
    if m["rel"] in (None, "the") and d < today:  # "the last Friday of the month", already past
        y, mo = add_months(today, 1)
        d = nth_weekday(y, mo, wd, n)
    return d


def h_weekdays_from_now(m: re.Match[str], today: date) -> date:
    n = 1 if m["n"] in ("a", "1") else int(m["n"])
    return weekday_after(today, WEEKDAY_NUM[m["wd"]], include_today=False) + timedelta(weeks=n - 1)


def h_weekdays_ago(m: re.Match[str], today: date) -> date:
    n = 1 if m["n"] in ("a", "1") else int(m["n"])
    wd = WEEKDAY_NUM[m["wd"]]
    back = (today.weekday() - wd) % 7 or 7
    return today - timedelta(days=back) - timedelta(weeks=n - 1)


def h_weekday_week(m: re.Match[str], today: date) -> date:
    offset = {"this": 0, "last": -1, "previous": -1, "past": -1}.get(m["which"], 1)
    return week_start(today) + timedelta(weeks=offset, days=WEEKDAY_NUM[m["wd"]])


# Holidays on a fixed date; moving ones (Easter, Mother's Day) are "unresolved" (unresolved.py).
FIXED_HOLIDAYS = {"christmas eve": (12, 24), "christmas day": (12, 25), "christmas": (12, 25),
                  "boxing day": (12, 26), "new years eve": (12, 31), "new years day": (1, 1),
                  "new years": (1, 1), "halloween": (10, 31), "valentines day": (2, 14)}


def h_holiday(m: re.Match[str], today: date) -> date:
    month, day = FIXED_HOLIDAYS[m["h"].replace("'", "")]
    return next_month_day(today, month, day)


def h_month_end(m: re.Match[str], today: date) -> date:
    y, mo = add_months(today, 1) if m["rel"] else (today.year, today.month)
    return date(y, mo, calendar.monthrange(y, mo)[1])


def h_weekday(m: re.Match[str], today: date) -> date:
    wd = WEEKDAY_NUM[m["wd"]]
    mod = (m["mod"] or "").strip()
    if mod in ("last", "past", "previous"):
        back = (today.weekday() - wd) % 7 or 7
        return today - timedelta(days=back)
    return weekday_after(today, wd, include_today=(mod == "this"))


# "12 August 2027", "June 5 of 2028", "12 August in 2027", "the 2nd of February next year"
_YEAR = r"(?:(?: in| of|) (?P<y>\d{4})| (?P<ny>next year))?"
_WK = r"(?P<which>this|next|the following|following|the coming|last|previous|past) week"
DATE_PATTERNS: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"\b(?:on )?(?P<y>\d{4})(?P<sep>[-/])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})\b"), h_iso),
    (re.compile(r"\b(?:on )?(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{2}|\d{4})\b"), h_numeric),
    (re.compile(r"\b(?:on )?(?P<a>\d{1,2})/(?P<b>\d{1,2})(?: (?P<y>\d{4}))?\b(?!/| ?(?:sec|min|hour|day|week|fortnight|month|year)\b)"),
     h_numeric),
    (re.compile(r"\b(?:on )?(?P<a>\d{1,2})-(?P<b>\d{1,2})\b(?![-/]| ?(?:am|pm|sec|min|hour|day|week|month|year|oclock))"),
     h_numeric),
    (re.compile(rf"\b(?:on )?(?:the )?(?P<ord>[1-5]th|last) (?P<wd>{WD}) (?:of|in) "
                rf"(?:(?:the )?(?P<rel>this|next|following|current|last|previous)? ?month|(?P<mon>{MON})(?: (?P<y>\d{{4}}))?)\b"), h_nth_weekday),
    (re.compile(rf"\b(?P<n>\d+|a) (?P<wd>{WD})s? from (?:now|today)\b"), h_weekdays_from_now),
    (re.compile(rf"\b(?P<n>\d+|a) (?P<wd>{WD})s? (?:ago|back)\b"), h_weekdays_ago),
    (re.compile(rf"\b(?:on )?(?:the )?last day (?:of|in) (?:(?:the )?(?P<rel>this|next|following|current)? ?month|(?P<mon>{MON})(?: (?P<y>\d{{4}}))?)\b"),
     h_last_day),
    (re.compile(rf"\b(?:on )?(?:(?P<wdc>{WD}) )?(?P<mon>{MON})(?:/| )(?:the )?(?P<d>\d{{1,2}}(?:th)?){_YEAR}(?: (?P<wdc2>{WD}))?\b(?! ?(?:am|pm|oclock|:|\.\d|min|hour))"), h_month_day),
    (re.compile(rf"\b(?:on )?(?:(?P<wdc>{WD}) )?(?:the )?(?P<d>\d{{1,2}}(?:th)?) (?:day )?(?:of |in )?(?P<mon>{MON}){_YEAR}\b"), h_month_day),
    (re.compile(r"\b(?:on )?(?:the )?(?P<d>\d{1,2}(?:th)?) (?:day )?of (?:the )?(?P<rel>this|next|following|current|last|previous)? ?month\b"),
     h_day_of_rel_month),
    (re.compile(rf"\b(?:on )?(?:the )?(?P<wd>{WD}) (?:of |from )?{_WK}\b"), h_weekday_week),
    (re.compile(rf"\b(?:on )?{_WK} (?:on )?(?P<wd>{WD})\b"), h_weekday_week),
    (re.compile(rf"\b(?:on )?(?:the )?(?P<wd>{WD}) after next\b"), h_weekday_after_next),
    (re.compile(rf"\b(?:on )?(?:next )?(?P<wd>{WD}) week\b"), h_weekday_after_next),  # "Tuesday week"
    (re.compile(r"(?:\b(?:on|at|by|over|before|until) |(?<=# ))(?P<h>christmas eve|christmas day|christmas|boxing day|new year'?s eve"
                r"|new year'?s day|new year'?s|halloween|valentine'?s day|valentines day)\b"), h_holiday),
    (re.compile(r"\b(?:at |by |before )?the end of (?:the |this )?(?P<rel>next )?month\b"), h_month_end),
    (re.compile(rf"\b(?:on )?(?:(?P<wdc>{WD}) )?(?:the )?(?P<d>\d{{1,2}}th)\b"), h_day_only),
    (re.compile(r"\b(?:on )?the (?P<d>\d{1,2})\b(?! ?(?:sec|min|hour|day|week|month|year|am|pm|oclock|:|\.))"), h_day_only),
    (re.compile(r"\bon (?P<d>\d{1,2})(?=$| at\b| \d{1,2}(?: |:|$))"), h_day_only),  # "on 15 at 8:00"
    (re.compile(rf"\b(?:on )?(?P<mod>this coming |this |next |coming |the coming |following |last |past |previous )?(?P<wd>{WD})\b"),
     h_weekday),
]

def h_period(m: re.Match[str], today: date) -> date:
    """Named weeks/months/weekends: their first day still ahead (list "next week")."""
    p = m["p"]
    if p == "next week" or p == "the following week":
        return week_start(today) + timedelta(weeks=1)
    if p in ("this week", "the week"):
        return today
    if p in ("this weekend", "the weekend", "weekend"):
        return today if today.weekday() >= 5 else weekday_after(today, 5, include_today=False)
    if p == "next weekend":
        return week_start(today) + timedelta(weeks=1, days=5)
    if p == "next month":
        y, mo = add_months(today, 1)
        return date(y, mo, 1)
    if p == "this month":
        return today
    if p == "next year":
        return date(today.year + 1, 1, 1)
    return today


DATE_PATTERNS.append((re.compile(
    r"\b(?:for |on |over |during )?(?P<p>next week|the following week|this week|this weekend|next weekend"
    r"|the weekend|weekend|next month|this month|next year)\b"), h_period))

# Relative days: (regex, days from today, part of day it implies)
RELATIVE_DAYS: list[tuple[re.Pattern[str], int, str | None]] = [
    (re.compile(r"\b(?:the )?day after tomorrow\b"), 2, None),
    (re.compile(r"\b(?:the )?day before yesterday\b"), -2, None),
    (re.compile(r"\b(?:tomorrow|tomorrows|(?:the )?next day)\b"), 1, None),
    (re.compile(r"\b(?:today|todays)\b"), 0, None),
    (re.compile(r"\btonight\b"), 0, "night"),
    (re.compile(r"\b(?:yesterday|last night)\b"), -1, None),
]
