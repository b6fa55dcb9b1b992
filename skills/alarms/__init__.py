"""Alarms: "wake me up at seven", "set an alarm for 6:30 on weekdays", "snooze", "stop"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant import phrasing
from assistant.events import ParseResult
from assistant.kinds import ScheduledKind
from assistant.scheduled_skill import ScheduledSkill
from assistant.skill import Context, Response
from assistant.store.db import Item
from assistant.timeparse.spec import SlotSpec

# While an alarm rings on the site, these stop it without asking the model.
STOP_ALARM = (
    r"^\s*(stop|turn (it )?off|dismiss|shut up|quiet|enough|"
    r"i'?m (up|awake)|alarm off|stop (the )?alarm|ok(ay)?)\b"
)


def announce(item: Item, late_s: float, now: datetime) -> str:
    name = f" {item.label}" if item.label else ""
    return f"Wake up! It's {phrasing.clock(now)}.{name}".strip()


ALARM = ScheduledKind(
    "alarm",
    event_type="alarm.ringing",
    display="Alarms",
    announce=announce,
    snooze=True,
    rings=True,
    sensor="pending_reminders",
)


class Alarms(ScheduledSkill):
    noun = "alarm"

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
        ring for ever, so repeats closer than [scheduler] alarm_min_interval_s are refused."""
        nxt = (slots.get("recurrence") or {}).get("next") or []
        if len(nxt) >= 2:
            gap = (datetime.fromisoformat(nxt[1]) - datetime.fromisoformat(nxt[0])).total_seconds()
            limit = ctx.cfg.scheduler.alarm_min_interval_s
            if gap < limit:
                msg = (
                    f"An alarm can repeat at most every {phrasing.duration(limit)}; "
                    "for something more frequent, use a reminder or a timer."
                )
                return Response(
                    msg,
                    ok=False,
                    error=f"alarm repeats every {gap:g} s; the "
                    f"minimum is {limit} s ([scheduler] alarm_min_interval_s)",
                )
        return super().create(ctx, slots)

    def on_stop(self, ctx: Context, parsed: ParseResult) -> Response:
        ctx.state.stop_ringing()
        return Response("OK, alarm stopped.")


SKILL = Alarms(
    "alarms",
    ALARM,
    "alarm",
    create=SlotSpec(when="moment", recurrence=True, label="named", alarm_hours=True),
    alarm_hours=True,
    snooze=True,
)
SKILL.add_intent("alarm.stop", SKILL.on_stop, shortcut=STOP_ALARM, shortcut_when="ringing")
