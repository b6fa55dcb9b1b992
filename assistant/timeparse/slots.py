"""extract_slots: the time and subject slots of one utterance, for what its intent declares.

The intent's `SlotSpec` (declared by its skill) selects the extractors; this module
knows no skill or intent names:
- when="countdown" (a timer): a length (`duration_s`), `when` = now + length, and a
  `label` ("pasta"); "a timer for 5pm" also works (length = until then).
- when="moment" (create): `when` or `recurrence` (when = its first time), `subject` or
  `label` as declared; with `duration` a length ("for an hour") goes to `duration_s`,
  without it "an alarm for 10 minutes" means in 10 minutes.
- when="day" (list / cancel): the day or period in `when` (its start, 00:00) and the words
  that name the item (`subject`: "filter" or "target").
- when=None with `duration`: a length said ("the 10 minute timer") and the label.
- nothing declared: nothing, except a snooze length ("snooze for ten minutes" ->
  duration_s) which any intent may carry.
Problems come back as `error`, a short sentence to speak; this function does not raise.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from . import edits, extras
from . import subject as subj
from .resolver import MAX_SECONDS, TimeParseError, combine, recurrence_value, scan
from .settings import TimeSettings
from .spec import SlotSpec
from .text import normalize
from .zones import iso, utc

log = logging.getLogger(__name__)

MAX_TIMER_S = 99 * 86400
MAX_CHARS = 400  # time words past this point of a very long text are not read


def empty_slots() -> dict[str, Any]:
    return {"subject": None, "when": None, "duration_s": None, "recurrence": None, "label": None}


@dataclass
class SlotResult:
    slots: dict[str, Any] = field(default_factory=empty_slots)
    error: str | None = None  # a short sentence to speak, or None
    unresolved: list[str] = field(default_factory=list)  # words we could not resolve (extras.py)
    more: list[dict[str, Any]] = field(default_factory=list)  # slots of further separate items


def extract_slots(text: str, spec: SlotSpec, now: datetime, settings: TimeSettings) -> SlotResult:
    """Slots of the `parse` contract for `text`, as `spec` declares; never raises on bad input."""
    if not isinstance(spec, SlotSpec):
        raise TypeError(f"extract_slots takes the intent's SlotSpec, not {type(spec).__name__} "
                        "(see assistant.skill.Registry.slot_spec)")
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.zone)
    try:
        local = now.astimezone(settings.zone)
        if spec.edit:
            return _edit(text, spec, local, settings)
        return extras.each_item(text, item_kind(spec),
                                lambda part: _extract(part, spec, local, settings))
    except TimeParseError as exc:
        return SlotResult(empty_slots(), str(exc))
    except Exception:  # the edge: a parser bug must not take the request down
        log.exception("time parsing failed for %r", text)
        return SlotResult(empty_slots(), "I could not work out the time in that.")


def _extract(text: str, spec: SlotSpec, now: datetime, settings: TimeSettings) -> SlotResult:
    slots = empty_slots()
    if len(text) > MAX_CHARS:  # the grammar is regex-based; keep the worst case small
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    t = normalize(text)
    snooze = "snooze" in t.norm.split()
    if spec.empty and not snooze:
        return SlotResult(slots)
    alarm = spec.alarm_hours
    f = scan(t.norm, now.date(), recurrence=spec.recurrence, alarm=alarm,
             bare_duration=True, timer=spec.when == "countdown")
    used: set[int] = set()
    for a, b in f.spans:
        first, last = t.words_of(a, b)
        if first >= 0:
            used.update(range(first, last + 1))
    rest = subj.remaining_words(t.words, used)
    if f.error:
        _fill_words(slots, rest, spec)
        return SlotResult(slots, f.error, extras.unresolved_words(f, t))

    if snooze or (spec.when is None and not spec.duration):
        span = f.duration or f.offset
        if span is not None:
            slots["duration_s"] = _length(span.total_seconds(), "A snooze")
        return SlotResult(slots)

    if spec.when == "countdown" or spec.when is None:
        return _timer(f, slots, rest, spec, now, settings)

    if spec.when == "moment":
        error = None
        if f.recur is not None:
            rv = recurrence_value(f, now, settings, alarm=alarm)
            slots["recurrence"] = rv
            slots["when"] = rv["next"][0]
        else:
            if f.duration is not None and f.offset is None and f.date is None and f.clock is None \
                    and not spec.duration:
                f.offset, f.duration = f.duration, None  # "an alarm for 10 minutes"
            moment, _ = combine(f, now, settings, alarm=alarm)
            if moment is not None:
                if utc(moment) <= utc(now):
                    error = "That time is in the past."
                slots["when"] = iso(moment)
        if f.duration is not None and spec.duration:
            slots["duration_s"] = _length(f.duration.total_seconds(), "An event")
        _fill_words(slots, rest, spec)
        if error:
            slots["when"] = None
        more: list[dict[str, Any]] = []
        if error is None:
            extras.add_end(f, slots, spec.duration, now)
            more = extras.more_items(f, slots, now, settings, alarm)
        return SlotResult(slots, error, extras.unresolved_words(f, t), more)

    # when="day" (list / cancel / anything pointing at an item): a day means its start
    moment, _ = combine(f, now, settings, alarm=alarm, day_start=True)
    if moment is not None:
        slots["when"] = iso(moment)
    _fill_words(slots, rest, spec)
    extras.add_end(f, slots, False, now)  # a period to list: its end, no event length
    return SlotResult(slots, unresolved=extras.unresolved_words(f, t))


EDIT_KEYS = ("new_when", "new_day_only", "new_clock_only", "shift_s", "new_subject")


def _edit(text: str, spec: SlotSpec, now: datetime, settings: TimeSettings) -> SlotResult:
    """An edit: the target read as for a cancel, the change as a new moment or a length."""
    parts = edits.split_edit(text)
    target = re.sub(r"\bfrom\b", "at", parts.target)  # "move the meeting from 3 to 4"
    res = _extract(target, replace(spec, edit=False), now, settings)
    slots = {**res.slots, **dict.fromkeys(EDIT_KEYS)}
    if res.error:
        return SlotResult(slots, res.error, res.unresolved)
    if parts.new_name:
        slots["new_subject"] = parts.new_name.strip()
    elif parts.length:
        got = _extract(parts.length, SlotSpec(duration=True), now, settings)
        if got.error or not got.slots["duration_s"]:
            return SlotResult(slots, got.error or "I could not work out by how much.")
        slots["shift_s"] = parts.shift_sign * got.slots["duration_s"]
    elif parts.new_time:
        if re.fullmatch(r"\d{1,2}(?:[:.]\d\d)?|\d{3,4}", parts.new_time.strip()):
            parts.new_time = "at " + parts.new_time.strip()  # "move it to 4", "make it 7:30"
        new_spec = SlotSpec(when="moment", alarm_hours=spec.alarm_hours)
        got = _extract(parts.new_time, new_spec, now, settings)
        if got.error or got.unresolved:
            said = got.unresolved[0] if got.unresolved else ""
            why = got.error or f'I can\'t tell the time from "{said}", so I changed nothing.'
            return SlotResult(slots, why, got.unresolved)
        f = scan(normalize(parts.new_time).norm, now.date(), recurrence=False,
                 alarm=spec.alarm_hours)
        if f.clock is None and f.offset is None and f.date is not None:
            day = _extract(parts.new_time, SlotSpec(when="day"), now, settings)
            slots["new_when"], slots["new_day_only"] = day.slots["when"], True
        else:
            slots["new_when"] = got.slots["when"]
            if f.clock is not None and f.date is None and f.offset is None:
                slots["new_clock_only"] = True  # "change it to 7:30": the item's own day
    return SlotResult(slots, None, res.unresolved)


def item_kind(spec: SlotSpec) -> str:
    """How separate items of one request are split and phrased (extras.segments), from what
    the intent declares: "timer" (a countdown), "calendar" (an event with a length),
    "alarm" (morning hours or a name), "reminder" (another new moment), "" (no splitting)."""
    if spec.when == "countdown":
        return "timer"
    if spec.when != "moment":
        return ""
    if spec.subject == "event":
        return "calendar"
    if spec.alarm_hours or spec.label == "named":
        return "alarm"
    return "reminder"


def _length(secs: float, what: str) -> int:
    if secs <= 0:
        raise TimeParseError(f"{what} needs a length above zero.")
    if secs > MAX_SECONDS:
        raise TimeParseError("That is far too long.")
    return round(secs)


def _timer(f: Any, slots: dict[str, Any], rest: list[str], spec: SlotSpec, now: datetime,
           settings: TimeSettings) -> SlotResult:
    """A countdown (when="countdown") or a length that names an item (when=None)."""
    start = spec.when == "countdown"
    limit = min(spec.max_duration_s, MAX_TIMER_S) if start else spec.max_duration_s
    span = f.duration or f.offset
    secs: float | None = None
    if span is not None:
        if span.negative:
            raise TimeParseError("A timer cannot run for a negative time.")
        secs = span.total_seconds()
    elif start and (f.clock is not None or f.date is not None):
        moment, _ = combine(f, now, settings)
        if moment is not None:
            secs = (utc(moment) - utc(now)).total_seconds()
    if start and secs is not None:
        if secs < 1:
            raise TimeParseError("A timer needs a length above zero.")
        if secs > limit:
            raise TimeParseError("Timers can run for at most 99 days.")
        slots["duration_s"] = round(secs)
        end = now.astimezone(UTC) + timedelta(seconds=round(secs))  # elapsed time
        slots["when"] = iso(end.astimezone(settings.zone))
    elif secs is not None and 0 < secs <= limit:
        slots["duration_s"] = round(secs)
    _fill_words(slots, rest, spec)
    return SlotResult(slots)


def _fill_words(slots: dict[str, Any], rest: list[str], spec: SlotSpec) -> None:
    _fill(slots, rest, spec)
    for key in ("subject", "label"):  # "REMIND ME TO CALL MOM" -> "call mom"
        if isinstance(slots[key], str) and slots[key].isupper() and len(slots[key]) > 3:
            slots[key] = slots[key].lower()


def _fill(slots: dict[str, Any], rest: list[str], spec: SlotSpec) -> None:
    if spec.subject == "target":
        slots["subject"], slots["label"] = subj.cancel_subject(rest, spec.target)
        return
    if spec.subject == "reminder":
        slots["subject"] = subj.reminder_subject(rest)
    elif spec.subject == "event":
        slots["subject"] = subj.calendar_subject(rest)
    elif spec.subject == "filter":
        slots["subject"] = subj.list_subject(rest)
    if spec.label == "named":
        slots["label"] = subj.alarm_label(rest)
    elif spec.label == "timer":
        slots["label"] = subj.timer_label(rest)
