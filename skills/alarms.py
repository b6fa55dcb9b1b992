"""Alarms: "wake me up at seven", "set an alarm for 6:30 on weekdays", "snooze"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant import phrasing
from assistant.store.db import Item
from skills.base import Context, Response
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

    def create(self, ctx: Context, slots: dict[str, Any]) -> Response:
        """An alarm rings for minutes until stopped: one repeating every few seconds would
        ring forever, so repeats closer than [scheduler] alarm_min_interval_s are refused."""
        rec = slots.get("recurrence")
        nxt = (rec or {}).get("next") or []
        if len(nxt) >= 2:
            gap = (datetime.fromisoformat(nxt[1]) - datetime.fromisoformat(nxt[0])).total_seconds()
            limit = ctx.cfg.scheduler.alarm_min_interval_s
            if gap < limit:
                msg = (f"An alarm can repeat at most every {phrasing.duration(limit)}; "
                       "for something more frequent, use a reminder or a timer.")
                return Response(msg, ok=False, error=f"alarm repeats every {gap:g} s; the "
                                f"minimum is {limit} s ([scheduler] alarm_min_interval_s)")
        return super().create(ctx, slots)


SKILL = Alarms()
