"""SlotSpec: which slots an intent takes, declared by its skill, read by the extractors.

The time parser knows no skill or intent names: an intent says what it wants and the
generic extractors in `slots.py` fill exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass

WHEN_CHOICES = (None, "moment", "day", "countdown")
SUBJECT_CHOICES = (None, "reminder", "event", "filter", "target")
LABEL_CHOICES = (None, "named", "timer")
MAX_SECONDS_DEFAULT = 99 * 86400


@dataclass(frozen=True)
class SlotSpec:
    """The slots of one intent.

    when:       "moment"    a new time to schedule (`when`, future; a length alone means
                            "from now", unless `duration` keeps it as the item's length)
                "day"       the time or day a request points at (a day alone: its start)
                "countdown" a length from now: `duration_s`, `when` = now + length
                            (a clock time means "until then")
                None        no time, only a length when `duration` is set
    recurrence: "every tuesday at 7" is allowed (with when="moment")
    duration:   a length said goes to `duration_s` (with "moment": the item's own length)
    alarm_hours: an hour alone is in the morning ("at 7" -> 07:00), as for alarms
    subject:    how the words left over read: "reminder" ("remind me to X"), "event"
                ("schedule X"), "filter" ("about X"), "target" (which item to act on)
    label:      "named" ("called X") or "timer" ("a pasta timer")
    target:     with subject="target": the noun the item is called by ("reminder", "alarm")
    max_duration_s: the longest length accepted (countdowns and lengths)
    edit:       with subject="target" and when="day": the request changes an item
                ("push X back an hour", "move X to Friday", "rename X to Y"): the target
                is read as for a cancel, the change into `new_when` (a new moment, with
                `new_day_only` when only a day was said, `new_clock_only` when only a
                time of day), `shift_s` (signed seconds) or
                `new_subject`
    """

    when: str | None = None
    recurrence: bool = False
    duration: bool = False
    alarm_hours: bool = False
    subject: str | None = None
    label: str | None = None
    target: str = ""
    max_duration_s: int = MAX_SECONDS_DEFAULT
    edit: bool = False

    def __post_init__(self) -> None:
        for field_, value, choices in (
            ("when", self.when, WHEN_CHOICES),
            ("subject", self.subject, SUBJECT_CHOICES),
            ("label", self.label, LABEL_CHOICES),
        ):
            if value not in choices:
                raise ValueError(
                    f"SlotSpec {field_}={value!r}: expected one of "
                    f"{', '.join(repr(c) for c in choices)}"
                )
        if self.recurrence and self.when != "moment":
            raise ValueError("SlotSpec recurrence=True needs when='moment'")
        if self.edit and (self.subject != "target" or self.when != "day"):
            raise ValueError("SlotSpec edit=True needs subject='target' and when='day'")
        if self.max_duration_s <= 0:
            raise ValueError("SlotSpec max_duration_s must be above 0")

    @property
    def empty(self) -> bool:
        """Takes no time and no words: only a snooze length is ever read."""
        return (
            self.when is None and not self.duration and self.subject is None and self.label is None
        )


NO_SLOTS = SlotSpec()

__all__ = ["NO_SLOTS", "SlotSpec"]
