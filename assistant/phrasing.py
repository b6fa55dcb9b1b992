"""Turning values into short sentences that sound right when spoken aloud."""

from __future__ import annotations

import re
from datetime import datetime

_PRONOUNS = {"my": "your", "me": "you", "i": "you", "mine": "yours", "myself": "yourself",
             "i'm": "you're", "am": "are", "your": "my", "you": "me", "yours": "mine"}


def spoken_subject(subject: str | None) -> str:
    """'call my mom' -> 'call your mom': the assistant speaks to the user."""
    if not subject:
        return ""
    words = subject.split()
    return " ".join(_PRONOUNS.get(w.lower(), w) if w.lower() in _PRONOUNS else w for w in words)


def clock(dt: datetime) -> str:
    """'6 PM', '6:30 AM', 'noon', 'midnight'."""
    if dt.hour == 12 and dt.minute == 0:
        return "noon"
    if dt.hour == 0 and dt.minute == 0:
        return "midnight"
    h = dt.hour % 12 or 12
    suffix = "AM" if dt.hour < 12 else "PM"
    return f"{h} {suffix}" if dt.minute == 0 else f"{h}:{dt.minute:02d} {suffix}"


def day(dt: datetime, now: datetime) -> str:
    """'today', 'tomorrow', 'on Friday', 'on March 3'."""
    delta = (dt.date() - now.date()).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if 1 < delta < 7:
        return f"on {dt.strftime('%A')}"
    if dt.year == now.year:
        return f"on {dt.strftime('%B')} {dt.day}"
    return f"on {dt.strftime('%B')} {dt.day}, {dt.year}"


def when(dt: datetime, now: datetime) -> str:
    """'tomorrow at 6 PM', 'in 10 minutes' when it is close."""
    dt = dt.astimezone(now.tzinfo)
    secs = (dt - now).total_seconds()
    if 0 <= secs < 3600 and dt.date() == now.date():
        return "in " + duration(round(secs / 60) * 60 or 60)
    d = day(dt, now)
    if d == "today" and dt.hour >= 18:
        return f"tonight at {clock(dt)}" if dt.hour >= 20 else f"this evening at {clock(dt)}"
    return f"{d} at {clock(dt)}"


def duration(seconds: float) -> str:
    """'10 minutes', '1 hour and 30 minutes', '45 seconds'."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} second{'s' if s != 1 else ''}"
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, secs = divmod(s, 60)
    parts = []
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    if secs and not days and not hours:
        parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]


_RRULE_DAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
               "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}


def recurrence(rrule: str, first: datetime) -> str:
    """A rough spoken form of an RRULE: 'every day at 7 AM', 'every Tuesday at 7 PM'."""
    parts = dict(p.split("=", 1) for p in rrule.split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1") or 1)
    at = f" at {clock(first)}"
    if freq == "HOURLY":
        return "every hour" if interval == 1 else f"every {interval} hours"
    if freq == "MINUTELY":
        return f"every {interval} minutes"
    if freq == "DAILY":
        return ("every day" if interval == 1 else f"every {interval} days") + at
    if freq == "WEEKLY":
        days = [_RRULE_DAYS.get(d[-2:], d) for d in parts.get("BYDAY", "").split(",") if d]
        if set(days) == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}:
            return "every weekday" + at
        names = " and ".join([", ".join(days[:-1]), days[-1]]) if len(days) > 1 else (
            days[0] if days else first.strftime("%A"))
        every = "every other" if interval == 2 else "every"
        return f"{every} {names}{at}"
    if freq == "MONTHLY":
        return "every month" + at
    if freq == "YEARLY":
        return "every year" + at
    return "repeatedly"


def join_items(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:1].upper() + text[1:] if text else text
