"""Turning values into short sentences that sound right when spoken aloud."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

_PRONOUNS = {"my": "your", "me": "you", "i": "you", "mine": "yours", "myself": "yourself",
             "i'm": "you're", "am": "are", "your": "my", "you": "me", "yours": "mine"}


# After one of these verbs the rest is the user's words to someone else ("tell John I love
# you"): only the addressee ("my wife") is turned round, the message is kept as said.
_REPORTING = {"tell", "say", "ask", "text", "message", "email", "write", "wish", "warn", "let", "remind",
              "call", "phone", "answer", "reply", "thank"}


def spoken_subject(subject: str | None) -> str:
    """'call my mom' -> 'call your mom': the assistant speaks to the user. Words quoted or
    reported to someone else keep their persons: 'tell John I love you' stays as it is."""
    if not subject:
        return ""
    subject = re.sub(r"\s*\(for ([^)]+)\)$", r", for \1", subject)  # "X (for my wife)"
    words = subject.split()
    out = []
    frozen = False
    quoted = False
    i = 0
    while i < len(words):
        w = words[i]
        lw = w.lower().strip(",.!?")
        if w.startswith(('"', "'")) and len(w) > 1 and lw not in _PRONOUNS:
            quoted = True
        if frozen or quoted or lw not in _PRONOUNS:
            out.append(w)
        else:
            out.append(_swap(w))
        if w.endswith('"') and quoted and len(w) > 1:
            quoted = False
        if lw in _REPORTING and not frozen and i + 1 < len(words):
            # swap the addressee ("tell my wife", "text me"), then keep the message as said
            j = i + 1
            if words[j].lower() in ("my", "our", "me", "us"):
                out.append(_swap(words[j]))
                j += 1
            if j < len(words) and words[j].lower() not in ("to", "that", "about", "if", "when"):
                out.append(words[j])
                j += 1
            frozen = True
            i = j
            continue
        if lw == ",":
            frozen = False
        i += 1
    return " ".join(out)


def _swap(w: str) -> str:
    lw = w.lower().strip(",.!?")
    got = _PRONOUNS.get(lw, lw)
    if w[:1].isupper() and lw != "i":
        got = got[:1].upper() + got[1:]
    return w.lower().replace(lw, got) if lw in _PRONOUNS else w


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
    """'tomorrow at 6:30 PM', 'in 20 seconds', 'in 10 minutes' when it is close."""
    dt = dt.astimezone(now.tzinfo)
    secs = (dt - now).total_seconds()
    if 0 <= secs < 3600 and dt.date() == now.date():
        s = round(secs)
        if s >= 60 and abs(secs - 60 * round(secs / 60)) <= 2:
            s = 60 * round(secs / 60)
        return "in " + duration(s or 1)
    d = day(dt, now)
    if d == "today" and dt.hour >= 18:
        return f"tonight at {clock(dt)}" if dt.hour >= 20 else f"this evening at {clock(dt)}"
    return f"{d} at {clock(dt)}"


def duration(seconds: float) -> str:
    """'10 minutes', '1 hour and 30 minutes', '45 seconds'."""
    s = round(seconds)
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
_WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def _ordinal(n: int) -> str:
    if n == -1:
        return "last day"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _times(parts: dict[str, str], first: datetime) -> str:
    """' at 7 AM', ' at 7 AM and 7 PM' (every BYHOUR with every BYMINUTE)."""
    hours = [int(h) for h in parts.get("BYHOUR", "").split(",") if h]
    minutes = [int(m) for m in parts.get("BYMINUTE", "0").split(",") if m] or [0]
    if len(hours) <= 1 and len(minutes) <= 1:
        return f" at {clock(first)}"
    stamps = sorted(first.replace(hour=h, minute=m) for h in hours or [first.hour] for m in minutes)
    steps = {b - a for a, b in itertools.pairwise(hours)}
    if len(hours) > 2 and len(minutes) == 1 and len(steps) == 1:  # a window: "every 2 hours from ..."
        k = steps.pop()
        return (f", every {'hour' if k == 1 else f'{k} hours'} from {clock(stamps[0])} "
                f"to {clock(stamps[-1])}")
    if len(stamps) > 6:
        return f", {len(stamps)} times a day from {clock(stamps[0])} to {clock(stamps[-1])}"
    return " at " + join_items([clock(t) for t in stamps])


def _days(days: list[str]) -> str:
    """'every weekday', 'every day except Sunday', 'every weekday except Friday', 'every Monday and Thursday'."""
    have = [d for d in _WEEK if d in days]
    if len(have) == 7:
        return "every day"
    if have == _WEEK[:5]:
        return "every weekday"
    if have == _WEEK[5:]:
        return "every Saturday and Sunday"
    if len(have) == 6:
        missing = next(d for d in _WEEK if d not in have)
        return f"every day except {_RRULE_DAYS[missing]}"
    if len(have) >= 3 and set(have) < set(_WEEK[:5]):
        missing = [_RRULE_DAYS[d] for d in _WEEK[:5] if d not in have]
        return f"every weekday except {join_items(missing)}"
    return "every " + join_items([_RRULE_DAYS[d] for d in have])


def recurrence(rrule: str, first: datetime) -> str:
    """The spoken form of an RRULE as stored: 'every weekday at 7 AM except Friday' is
    'every weekday except Friday at 7 AM'; 'every 3 weeks on Friday at 9 AM'; 'every 15
    minutes'; 'on the 5th and 20th of every month at 9 AM'; plus ', 4 times' / ', until ...'."""
    parts = dict(p.split("=", 1) for p in rrule.split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1") or 1)
    at = _times(parts, first)
    byday = [d for d in parts.get("BYDAY", "").split(",") if d]
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        step = interval * {"HOURLY": 3600, "MINUTELY": 60, "SECONDLY": 1}[freq]
        if step in (1, 60, 3600):
            text = "every " + duration(step).removeprefix("1 ")
        elif step % 3600 == 0 or step < 3600:
            text = "every " + duration(step)
        else:
            text = f"every {step // 60} minutes"
    elif freq == "DAILY":
        text = ("every day" if interval == 1 else "every other day" if interval == 2
                else f"every {interval} days") + at
        if interval == 1 and at.startswith(", every"):
            text = at[2:]
    elif freq == "WEEKLY":
        days = [d[-2:] for d in byday] or [_WEEK[first.weekday()]]
        if interval == 1:
            text = _days(days)
        else:
            names = join_items([_RRULE_DAYS[d] for d in _WEEK if d in days])
            text = f"every other {names}" if interval == 2 else f"every {interval} weeks on {names}"
        text += at
    elif freq == "MONTHLY":
        every = "every month" if interval == 1 else "every other month" if interval == 2 else f"every {interval} months"
        if byday and byday[0][:-2].lstrip("-").isdigit():
            n = int(byday[0][:-2])
            text = f"on the {_NTH.get(n, str(n))} {_RRULE_DAYS[byday[0][-2:]]} of {every}"
        else:
            mdays = [int(d) for d in parts.get("BYMONTHDAY", str(first.day)).split(",") if d]
            text = f"on the {join_items([_ordinal(d) for d in mdays])} of {every}"
        text += at
    elif freq == "YEARLY":
        text = f"every year on {first.strftime('%B')} {first.day}{at}"
    else:
        return "repeatedly"
    if parts.get("COUNT"):
        text += f", {parts['COUNT']} times"
    elif parts.get("UNTIL"):
        until = datetime.strptime(parts["UNTIL"][:15], "%Y%m%dT%H%M%S")
        text += f", until {until.strftime('%B')} {until.day}"
    return text


def join_items(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:1].upper() + text[1:] if text else text
