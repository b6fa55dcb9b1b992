"""Alarms: "wake me up at seven", "set an alarm for 6:30 on weekdays", "snooze", "stop"."""

from __future__ import annotations

from datetime import datetime

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
