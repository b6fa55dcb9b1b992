"""extract_slots: the time and subject slots of one utterance, for a known intent.

The intent says what to look for:
- timer.start: a length (`duration_s`), `when` = now + length, and a `label` ("pasta");
  "a timer for 5pm" also works (length = until then). Timers run 1 s to 99 days.
- reminder/alarm/calendar .create: `when` or `recurrence` (when = its first time),
  `subject` (reminders, calendar) or `label` (alarms: "called X"); a calendar event's
  length ("for an hour") goes to `duration_s`; "an alarm for 10 minutes" means in 10 min.
- *.list: the day or period to list in `when` (its start, 00:00) and a subject filter
  ("reminders about the car" -> "the car").
- *.cancel: what identifies the item: `when` (a day alone: its start), `subject`
  ("the reminder to call mom" -> "call mom"; "all my alarms" -> "all"), `label`.
- timer.query / timer.cancel: `label` and, if said, `duration_s` ("the 10 minute timer").
- time.query, date.query, out_of_scope: nothing, except a snooze length ("snooze for ten
  minutes" -> duration_s) which any intent may carry.
Problems come back as `error`, a short sentence to speak; this function does not raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import extras
from . import subject as subj
from .resolver import MAX_SECONDS, TimeParseError, combine, recurrence_value, scan
from .settings import TimeSettings
from .text import normalize
from .zones import iso, utc

log = logging.getLogger(__name__)

MAX_TIMER_S = 99 * 86400
MAX_CHARS = 400  # time words past this point of a very long text are not read
NO_TIME_INTENTS = {"time.query", "date.query", "out_of_scope"}


def empty_slots() -> dict[str, Any]:
    return {"subject": None, "when": None, "duration_s": None, "recurrence": None, "label": None}


@dataclass
class SlotResult:
    slots: dict[str, Any] = field(default_factory=empty_slots)
    error: str | None = None  # a short sentence to speak, or None
    unresolved: list[str] = field(default_factory=list)  # words we could not resolve (extras.py)
    more: list[dict[str, Any]] = field(default_factory=list)  # slots of further separate items


def extract_slots(text: str, intent: str, now: datetime, settings: TimeSettings) -> SlotResult:
    """Slots of the `parse` contract for `text` under `intent`; never raises on bad input."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.zone)
    try:
        return extras.each_item(text, intent, now.astimezone(settings.zone), settings, _extract)
    except TimeParseError as exc:
        return SlotResult(empty_slots(), str(exc))
    except Exception:  # the edge: a parser bug must not take the request down
        log.exception("time parsing failed for %r", text)
        return SlotResult(empty_slots(), "I could not work out the time in that.")


def _extract(text: str, intent: str, now: datetime, settings: TimeSettings) -> SlotResult:
    slots = empty_slots()
    if len(text) > MAX_CHARS:  # the grammar is regex-based; keep the worst case small
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    t = normalize(text)
    snooze = "snooze" in t.norm.split()
    domain, _, action = intent.partition(".")
    if intent in NO_TIME_INTENTS and not snooze:
        return SlotResult(slots)
    create = action == "create"
    alarm = domain == "alarm"
    f = scan(t.norm, now.date(), recurrence=create, alarm=alarm,
             bare_duration=True, timer=domain == "timer")
    used: set[int] = set()
    for a, b in f.spans:
        first, last = t.words_of(a, b)
        if first >= 0:
            used.update(range(first, last + 1))
    rest = subj.remaining_words(t.words, used)
    if f.error:
        _fill_words(slots, rest, domain, action)
        return SlotResult(slots, f.error, extras.unresolved_words(f, t))

    if snooze or intent in NO_TIME_INTENTS or domain not in ("timer", "reminder", "alarm", "calendar"):
        span = f.duration or f.offset
        if span is not None:
            slots["duration_s"] = _length(span.total_seconds(), "A snooze")
        return SlotResult(slots)

    if domain == "timer":
        return _timer(f, slots, rest, action, now, settings)

    if action == "create":
        error = None
        if f.recur is not None:
            rv = recurrence_value(f, now, settings, alarm=alarm)
            slots["recurrence"] = rv
            slots["when"] = rv["next"][0]
        else:
            if f.duration is not None and f.offset is None and f.date is None and f.clock is None \
                    and domain != "calendar":
                f.offset, f.duration = f.duration, None  # "an alarm for 10 minutes"
            moment, _ = combine(f, now, settings, alarm=alarm)
            if moment is not None:
                if utc(moment) <= utc(now):
                    error = "That time is in the past."
                slots["when"] = iso(moment)
        if f.duration is not None and domain == "calendar":
            slots["duration_s"] = _length(f.duration.total_seconds(), "An event")
        _fill_words(slots, rest, domain, action)
        if error:
            slots["when"] = None
        more: list[dict[str, Any]] = []
        if error is None:
            extras.add_end(f, slots, domain, now)
            more = extras.more_items(f, slots, now, settings, alarm)
        return SlotResult(slots, error, extras.unresolved_words(f, t), more)

    # list / cancel / anything else: a day means its start
    moment, _ = combine(f, now, settings, alarm=alarm, day_start=True)
    if moment is not None:
        slots["when"] = iso(moment)
    _fill_words(slots, rest, domain, action)
    extras.add_end(f, slots, "", now)  # a period to list: its end, no event length
    return SlotResult(slots, unresolved=extras.unresolved_words(f, t))


def _length(secs: float, what: str) -> int:
    if secs <= 0:
        raise TimeParseError(f"{what} needs a length above zero.")
    if secs > MAX_SECONDS:
        raise TimeParseError("That is far too long.")
    return round(secs)


def _timer(f: Any, slots: dict[str, Any], rest: list[str], action: str, now: datetime,
           settings: TimeSettings) -> SlotResult:
    span = f.duration or f.offset
    secs: float | None = None
    if span is not None:
        if span.negative:
            raise TimeParseError("A timer cannot run for a negative time.")
        secs = span.total_seconds()
    elif action == "start" and (f.clock is not None or f.date is not None):
        moment, _ = combine(f, now, settings)
        if moment is not None:
            secs = (utc(moment) - utc(now)).total_seconds()
    if action == "start" and secs is not None:
        if secs < 1:
            raise TimeParseError("A timer needs a length above zero.")
        if secs > MAX_TIMER_S:
            raise TimeParseError("Timers can run for at most 99 days.")
        slots["duration_s"] = round(secs)
        end = now.astimezone(UTC) + timedelta(seconds=round(secs))  # elapsed time
        slots["when"] = iso(end.astimezone(settings.zone))
    elif secs is not None and 0 < secs <= MAX_TIMER_S:
        slots["duration_s"] = round(secs)
    slots["label"] = subj.timer_label(rest)
    return SlotResult(slots)


def _fill_words(slots: dict[str, Any], rest: list[str], domain: str, action: str) -> None:
    _fill(slots, rest, domain, action)
    for key in ("subject", "label"):  # "REMIND ME TO CALL MOM" -> "call mom"
        if isinstance(slots[key], str) and slots[key].isupper() and len(slots[key]) > 3:
            slots[key] = slots[key].lower()


def _fill(slots: dict[str, Any], rest: list[str], domain: str, action: str) -> None:
    if action == "create":
        if domain == "reminder":
            slots["subject"] = subj.reminder_subject(rest)
        elif domain == "alarm":
            slots["label"] = subj.alarm_label(rest)
        elif domain == "calendar":
            slots["subject"] = subj.calendar_subject(rest)
    elif action == "cancel":
        slots["subject"], slots["label"] = subj.cancel_subject(rest, domain)
    elif action == "list":
        slots["subject"] = subj.list_subject(rest)
    elif domain == "timer":
        slots["label"] = subj.timer_label(rest)
