"""Reminders: "remind me to water the plants at six", "what are my reminders", "cancel it"."""

from __future__ import annotations

from assistant import phrasing
from assistant.store.db import Item
from skills.base import Context
from skills.scheduled import ScheduledSkill


class Reminders(ScheduledSkill):
    name = "reminders"
    kind = "reminder"
    noun = "reminder"
    needs_subject = True
    intents = ("reminder.create", "reminder.list", "reminder.cancel", "reminder.snooze")

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


SKILL = Reminders()
