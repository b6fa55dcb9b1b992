"""The ICS feed phones subscribe to (webcal://): calendar events, reminders and alarms.

Built with the `icalendar` library. Times are written in the item's own zone with a
VTIMEZONE for it; a repeating item is one VEVENT with DTSTART at its first occurrence
and its RRULE (the BYHOUR/BYMINUTE parts are already implied by DTSTART and dropped);
reminders and alarms carry a VALARM at their time, calendar events one at their notice.
UIDs are the store ids, so a phone updates an item in place; cancelled items are left
out and so disappear at the next refresh. Timers are too short-lived to belong here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vRecur

from assistant.store.db import Item

FEED_KINDS = ("calendar", "reminder", "alarm")
HISTORY = timedelta(days=30)  # fired one-off items stay visible this long
SHOWN = ("pending", "fired", "snoozed", "missed")
PRODID = "-//assistant//household calendar//EN"


def uid(item: Item) -> str:
    return f"{item.id}@assistant"


def feed_items(items: list[Item], now: datetime) -> list[Item]:
    cutoff = (now - HISTORY).timestamp()
    return [it for it in items if it.kind in FEED_KINDS and it.status in SHOWN
            and (it.status == "pending" or it.rrule or it.due_ts >= cutoff)]


def _rrule(rule: str) -> vRecur:
    parts = vRecur.from_ical(rule)
    for implied in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        parts.pop(implied, None)
    return parts


def _summary(item: Item) -> str:
    text = item.subject or item.label
    if item.kind == "alarm":
        return f"Alarm: {text}" if text else "Alarm"
    if item.kind == "reminder":
        return f"Reminder: {text}" if text else "Reminder"
    return text or "Event"


def event_for(item: Item) -> Event:
    tz = item.tz
    if item.rrule and item.dtstart_local:
        start = datetime.fromisoformat(item.dtstart_local).replace(tzinfo=tz)
    else:
        start = item.due
    ev = Event()
    ev.add("uid", uid(item))
    ev.add("dtstamp", datetime.fromtimestamp(item.updated_ts or item.created_ts, UTC))
    ev.add("last-modified", datetime.fromtimestamp(item.updated_ts or item.created_ts, UTC))
    ev.add("summary", _summary(item))
    ev.add("dtstart", start)
    if item.kind == "calendar" and item.duration_s:
        ev.add("dtend", start + timedelta(seconds=item.duration_s))
    elif item.kind != "calendar":
        ev.add("dtend", start + timedelta(minutes=5))
        ev.add("transp", "TRANSPARENT")  # a reminder does not make anyone busy
    if item.rrule:
        ev.add("rrule", _rrule(item.rrule))
    ev.add("categories", [item.kind])
    ev.add("x-assistant-site", item.site)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _summary(item))
    notice = item.notice_s if item.kind == "calendar" else 0
    alarm.add("trigger", timedelta(seconds=-(notice or 0)))
    ev.add_component(alarm)
    return ev


def build_calendar(items: list[Item], now: datetime, name: str = "Assistant") -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    first = now.date() - timedelta(days=366)
    for item in feed_items(items, now):
        ev = event_for(item)
        first = min(first, ev.start.date() - timedelta(days=1))
        cal.add_component(ev)
    # Transitions from the oldest item to six years ahead (items are scheduled <= 5 years out).
    cal.add_missing_timezones(first_date=first, last_date=now.date() + timedelta(days=6 * 366))
    return cal.to_ical()
