"""Where and when the user lives: zone, default time of day, hours for parts of the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # pragma: no cover
    from assistant.config import Config


@dataclass(frozen=True)
class TimeSettings:
    zone: ZoneInfo
    default_time: time = time(9, 0)  # "remind me tomorrow" -> tomorrow at this time
    morning: time = time(8, 0)
    afternoon: time = time(15, 0)
    evening: time = time(19, 0)
    night: time = time(21, 0)

    @classmethod
    def from_config(cls, cfg: Config) -> TimeSettings:
        """Read cfg.zone and the [time] HH:MM keys (already validated by the config loader)."""
        from assistant.config import parse_hhmm

        t = cfg.time
        return cls(
            zone=cfg.zone,
            default_time=parse_hhmm(t.default_time),
            morning=parse_hhmm(t.morning),
            afternoon=parse_hhmm(t.afternoon),
            evening=parse_hhmm(t.evening),
            night=parse_hhmm(t.night),
        )

    def part_time(self, part: str) -> time:
        """The configured hour of "morning", "afternoon", "evening", "night"/"tonight"."""
        return {"morning": self.morning, "afternoon": self.afternoon, "evening": self.evening,
                "night": self.night, "tonight": self.night}[part]
