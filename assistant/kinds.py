"""Scheduled kinds: each kind of item the scheduler fires describes itself once.

A skill that schedules things (reminders, alarms, timers, calendar events, or a
third-party kind) declares a `ScheduledKind`: the `kind` stored with the item, the MQTT
event type, the words spoken when it fires, its display name, whether "snooze" applies,
whether it rings until stopped and which Home Assistant sensor counts it. The store,
events, stats, discovery and the CLI read this table instead of lists of names.

The table is filled by the skill registry when it is built (`assistant.skill.Registry`);
it is per process, like the registry it mirrors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.store.db import Item

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# (item, seconds late, now in the configured zone) -> the words spoken when it fires
Announce = Callable[["Item", float, datetime], str]


@dataclass(frozen=True)
class ScheduledKind:
    name: str  # stored in items.kind, e.g. "reminder"
    event_type: str  # the MQTT event type, e.g. "reminder.due"
    display: str  # "Reminders": `assistant reminders list`, stats
    announce: Announce
    snooze: bool = False  # "snooze" after it fired schedules it again
    rings: bool = False  # repeats its event until stopped, snoozed or timed out
    sensor: str | None = None  # the HA sensor that counts it: "pending_reminders" | "active_timers"


class KindTable(Mapping[str, ScheduledKind]):
    """name -> ScheduledKind for every kind the loaded skills declared."""

    def __init__(self) -> None:
        self._kinds: dict[str, ScheduledKind] = {}

    def __getitem__(self, name: str) -> ScheduledKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def register(self, kind: ScheduledKind) -> None:
        self._kinds[kind.name] = kind

    def event_types(self) -> dict[str, str]:
        return {k.name: k.event_type for k in self._kinds.values()}

    def counted_by(self, sensor: str) -> set[str]:
        return {k.name for k in self._kinds.values() if k.sensor == sensor}


KINDS = KindTable()


class _EventTypes(Mapping[str, str]):
    """kind -> event type, read live from KINDS (the old EVENT_TYPES dict's shape)."""

    def __getitem__(self, name: str) -> str:
        return KINDS[name].event_type

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


EVENT_TYPES: Mapping[str, str] = _EventTypes()

__all__ = ["EVENT_TYPES", "KINDS", "KIND_NAME", "Announce", "KindTable", "ScheduledKind"]
