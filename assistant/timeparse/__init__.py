"""Understanding time: when, how long, how often, and what about.

Public API:
    TimeSettings, SlotSpec, extract_slots, SlotResult, resolve_expression, TimeValue,
    next_occurrence, TimeParseError
The rules (ambiguous hours, DST, bad input) are in resolver.py's docstring.
"""

from .recurrence import next_occurrence, upcoming
from .resolver import TimeParseError, TimeValue, resolve_expression
from .settings import TimeSettings
from .slots import SlotResult, extract_slots
from .spec import NO_SLOTS, SlotSpec

__all__ = [
           "NO_SLOTS",
           "SlotResult",
           "SlotSpec",
           "TimeParseError",
           "TimeSettings",
           "TimeValue",
           "extract_slots",
           "next_occurrence",
           "resolve_expression",
           "upcoming",
]
