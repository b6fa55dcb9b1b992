"""Small typed messages that cross module boundaries (in the spirit of rhasspy/wyoming).

Every source (MQTT, microphone, CLI) produces a `Request`; the pipeline answers with a
`Reply`; the scheduler emits `Event`s when something comes due. Their `to_json()` forms
are the MQTT/CLI contracts of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.kinds import EVENT_TYPES as _KIND_EVENT_TYPES


def empty_slots() -> dict[str, Any]:
    return {"subject": None, "when": None, "duration_s": None, "recurrence": None, "label": None}


@dataclass
class ParseResult:
    """What the NLU understood: the `assistant parse` contract."""

    text: str
    intent: str
    confidence: float
    slots: dict[str, Any] = field(default_factory=empty_slots)
    # Why the time words could not be used ("There is no February 30th."), or None.
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 4),
               "slots": self.slots}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Request:
    text: str
    site: str = "default"
    id: str | None = None
    source: str = "cli"  # cli | mqtt | voice | hermes


@dataclass
class Reply:
    id: str | None
    ok: bool
    intent: str | None
    slots: dict[str, Any]
    speech: str
    error: str | None = None
    site: str = "default"
    heard: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "ok": self.ok, "intent": self.intent,
                               "slots": self.slots, "speech": self.speech}
        if self.error is not None:
            out["error"] = self.error
        return out


# kind -> event type, as each scheduled kind declares it (assistant.kinds)
EVENT_TYPES = _KIND_EVENT_TYPES


@dataclass
class Event:
    """Something came due: published on {root}/{site}/event and spoken on its site."""

    type: str
    id: str
    subject: str | None
    due: str
    fired_at: str
    late_s: float
    site: str = "default"
    speech: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "subject": self.subject, "due": self.due,
                "fired_at": self.fired_at, "late_s": round(self.late_s, 3)}
