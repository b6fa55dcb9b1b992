"""Alarms: "wake me up at seven", "set an alarm for 6:30 on weekdays", "snooze"."""

from __future__ import annotations

from assistant.store.db import Item
from skills.base import Context
from skills.scheduled import ScheduledSkill


class Alarms(ScheduledSkill):
    name = "alarms"
    kind = "alarm"
    noun = "alarm"
    intents = ("alarm.create", "alarm.list", "alarm.cancel", "alarm.snooze")

    def ask_when(self) -> str:
        return "What time should the alarm go off?"

    def confirm_created(self, item: Item, ctx: Context) -> str:
        name = f" called {item.label}" if item.label else ""
        return f"OK, alarm{name} set for {self.describe_time(item, ctx)}."

    def describe(self, item: Item, ctx: Context) -> str:
        name = f"{item.label} " if item.label else ""
        return f"{name}{self.describe_time(item, ctx)}"


SKILL = Alarms()
