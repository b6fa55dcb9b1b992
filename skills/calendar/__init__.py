"""Calendar events: "schedule a dentist appointment on Friday at 3pm", with advance notice."""

from __future__ import annotations

from datetime import datetime, time

from assistant import phrasing
from assistant.events import ParseResult
from assistant.kinds import ScheduledKind
from assistant.scheduled_skill import ScheduledSkill
from assistant.skill import Context, Response
from assistant.store.db import Item
from assistant.timeparse.spec import SlotSpec


def announce(item: Item, late_s: float, now: datetime) -> str:
    what = phrasing.spoken_subject(item.subject or item.label)
    late = " (sorry, this is late)" if late_s > 60 else ""
    return f"Coming up at {phrasing.clock(item.due.astimezone(now.tzinfo))}: {what}.{late}"


CALENDAR = ScheduledKind(
    "calendar",
    event_type="calendar.due",
    display="Calendar events",
    announce=announce,
    snooze=True,
    sensor="pending_reminders",
)


class Calendar(ScheduledSkill):
    noun = "event"
    needs_subject = True

    def ask_when(self) -> str:
        return "When is it?"

    def ask_subject(self) -> str:
        return "What should I call the event?"

    def notice_s(self, ctx: Context) -> int:
        return ctx.cfg.scheduler.calendar_notice_s

    def confirm_created(self, item: Item, ctx: Context) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        return f"OK, I added {what} to your calendar {self.describe_time(item, ctx)}."

    def on_list(self, ctx: Context, parsed: ParseResult) -> Response:
        if not parsed.slots.get("when"):
            # "what's on my calendar" means from now on, today first
            today = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
            items = [it for it in ctx.store.pending(kind=self.kind) if it.due >= today]
            if not items:
                return Response("Your calendar is empty.", items=[])
            listed = phrasing.join_items([self.describe(it, ctx) for it in items[:5]])
            return Response(f"Coming up: {listed}.", items=items)
        return super().on_list(ctx, parsed)


SKILL = Calendar(
    "calendar",
    CALENDAR,
    "calendar",
    create=SlotSpec(when="moment", recurrence=True, duration=True, subject="event"),
)
