"""Reminders: "remind me to water the plants at six", "what are my reminders", "cancel it"."""

from __future__ import annotations

from datetime import datetime

from assistant import phrasing
from assistant.kinds import ScheduledKind
from assistant.scheduled_skill import ScheduledSkill
from assistant.skill import Context
from assistant.store.db import Item
from assistant.timeparse.spec import SlotSpec


def announce(item: Item, late_s: float, now: datetime) -> str:
    what = phrasing.spoken_subject(item.subject or item.label)
    late = " (sorry, this is late)" if late_s > 60 else ""
    return f"Reminder: {what}.{late}" if what else f"This is your reminder.{late}"


REMINDER = ScheduledKind(
    "reminder",
    event_type="reminder.due",
    display="Reminders",
    announce=announce,
    snooze=True,
    sensor="pending_reminders",
)


class Reminders(ScheduledSkill):
    noun = "reminder"
    needs_subject = True

    def ask_when(self) -> str:
        return "When should I remind you?"

    def ask_subject(self) -> str:
        return "What should I remind you about?"

    def confirm_created(self, item: Item, ctx: Context) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        return f"OK, I'll remind you to {what} {self.describe_time(item, ctx)}."

    def describe(self, item: Item, ctx: Context) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        return f"{what} {self.describe_time(item, ctx)}".strip()


SKILL = Reminders(
    "reminders",
    REMINDER,
    "reminder",
    create=SlotSpec(when="moment", recurrence=True, subject="reminder"),
    snooze=True,
    snooze_shortcut=True,  # "snooze [for 5 minutes]" needs no model
)
