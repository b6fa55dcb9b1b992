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
    # The user's words we could not resolve ("when I get home"): never guessed, never stored.
    unresolved: list[str] = field(default_factory=list)
    # Further separate items of the same request: [{"intent", "confidence", "slots"}, ...]
    more: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 4),
               "slots": self.slots}
        if self.error:
            out["error"] = self.error
        if self.unresolved:
            out["unresolved"] = list(self.unresolved)
        if self.more:
            out["more"] = list(self.more)
        return out


@dataclass
class Request:
    text: str
    site: str = "default"
    id: str | None = None
    source: str = "cli"  # cli | mqtt | voice | hermes
    # Identity for "act once": a repeated or redelivered request with the same key gets the
    # recorded reply and no second action (MQTT: site + command id or correlation data).
    key: str | None = None


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

    @classmethod
    def from_json(cls, data: dict[str, Any], site: str = "default", heard: str = "") -> Reply:
        return cls(id=data.get("id"), ok=bool(data.get("ok")), intent=data.get("intent"),
                   slots=data.get("slots") or empty_slots(), speech=data.get("speech") or "",
                   error=data.get("error"), site=site, heard=heard)


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
    # Stable per occurrence (item id + fire number): consumers drop the rare duplicate that
    # at-least-once delivery from the outbox can produce after a crash.
    event_id: str = ""
    # True when the MQTT publisher takes it from the store's outbox (not from the listener).
    outboxed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "subject": self.subject, "due": self.due,
                "fired_at": self.fired_at, "late_s": round(self.late_s, 3),
                "event_id": self.event_id or self.id}

    def to_record(self) -> dict[str, Any]:
        """What the outbox keeps: the published JSON plus where it goes."""
        return {**self.to_json(), "site": self.site}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Event:
        return cls(type=data["type"], id=data["id"], subject=data.get("subject"),
                   due=data.get("due", ""), fired_at=data.get("fired_at", ""),
                   late_s=float(data.get("late_s") or 0.0), site=data.get("site", "default"),
                   event_id=data.get("event_id", ""), outboxed=True)
