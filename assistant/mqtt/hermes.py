"""Hermes (Rhasspy 2.5 / Snips) compatibility: the payloads, nothing about transport.

The service answers `hermes/nlu/query` the way an NLU service does (`hermes/nlu/intentParsed`
then `hermes/intent/<name>`, or `hermes/nlu/intentNotRecognized`), then acts on the request
and ends the dialogue session with the spoken answer (or says it with `hermes/tts/say`
when there is no session). Field names are camelCase on the wire, as in rhasspyhermes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from assistant.events import ParseResult

QUERY = "hermes/nlu/query"
INTENT_PARSED = "hermes/nlu/intentParsed"
NOT_RECOGNIZED = "hermes/nlu/intentNotRecognized"
TTS_SAY = "hermes/tts/say"
END_SESSION = "hermes/dialogueManager/endSession"
ERROR_NLU = "hermes/error/nlu"
NOT_RECOGNIZED_INTENTS = {None, "", "out_of_scope"}


class HermesError(ValueError):
    pass


def intent_topic(name: str) -> str:
    return f"hermes/intent/{name}"


def parse_query(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """The NLU query as a dict with `input`, `siteId`, `id`, `sessionId`, `customData`."""
    if len(payload) > max_bytes:
        raise HermesError(f"payload too large: {len(payload)} bytes, the limit is {max_bytes}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HermesError(f"not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise HermesError("not a JSON object")
    if not isinstance(data.get("input"), str):
        raise HermesError("field 'input' must be a string")
    site = data.get("siteId") or "default"
    if not isinstance(site, str):
        raise HermesError("field 'siteId' must be a string")
    return {"input": data["input"], "siteId": site, "id": data.get("id"),
            "sessionId": data.get("sessionId"), "customData": data.get("customData"),
            "lang": data.get("lang")}


def _slot_value(name: str, value: Any) -> dict[str, Any]:
    if name == "when":
        return {"kind": "InstantTime", "value": value, "grain": "Minute", "precision": "Exact"}
    if name == "duration_s":
        return {"kind": "Duration", "value": value, "seconds": value, "precision": "Exact"}
    if name == "recurrence" and isinstance(value, dict):
        return {"kind": "Recurrence", "value": value.get("rrule"), "next": value.get("next")}
    return {"kind": "Unknown", "value": value}


def slots_list(text: str, slots: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Our slot dict as Hermes slot objects (entity, slotName, rawValue, value, range)."""
    out = []
    for name, value in (slots or {}).items():
        if value is None:
            continue
        raw = value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict) else str(value)
        slot: dict[str, Any] = {"entity": name, "slotName": name, "rawValue": raw,
                                "value": _slot_value(name, value), "confidence": 1.0}
        pos = text.lower().find(raw.lower()) if isinstance(value, str) and raw else -1
        if pos >= 0:
            slot["range"] = {"start": pos, "end": pos + len(raw), "rawStart": pos,
                             "rawEnd": pos + len(raw)}
        out.append(slot)
    return out


def intent_message(query: dict[str, Any], result: ParseResult) -> tuple[str, dict[str, Any]]:
    """(topic, payload) of `hermes/intent/<name>`; see `recognized()` for when it applies."""
    payload = {
        "input": query["input"],
        "intent": {"intentName": result.intent, "confidenceScore": round(float(result.confidence), 4)},
        "slots": slots_list(query["input"], result.slots),
        "id": query["id"],
        "siteId": query["siteId"],
        "sessionId": query["sessionId"],
        "customData": query["customData"],
        "asrTokens": [],
        "rawInput": query["input"],
        "lang": query["lang"],
    }
    return intent_topic(result.intent), payload


def intent_parsed_message(query: dict[str, Any], result: ParseResult) -> dict[str, Any]:
    return {"input": query["input"],
            "intent": {"intentName": result.intent, "confidenceScore": round(float(result.confidence), 4)},
            "slots": slots_list(query["input"], result.slots), "id": query["id"],
            "siteId": query["siteId"], "sessionId": query["sessionId"]}


def not_recognized_message(query: dict[str, Any]) -> dict[str, Any]:
    return {"input": query["input"], "siteId": query["siteId"], "id": query["id"],
            "customData": query["customData"], "sessionId": query["sessionId"]}


def recognized(result: ParseResult) -> bool:
    return result.intent not in NOT_RECOGNIZED_INTENTS


def say_message(site: str, text: str, session_id: str | None = None,
                request_id: str | None = None) -> dict[str, Any]:
    return {"text": text, "siteId": site, "id": request_id or str(uuid.uuid4()),
            "sessionId": session_id or "", "lang": None}


def end_session_message(session_id: str, text: str) -> dict[str, Any]:
    return {"sessionId": session_id, "text": text, "customData": None}


def error_message(site: str, error: str, session_id: str | None, context: str) -> dict[str, Any]:
    return {"error": error, "siteId": site, "sessionId": session_id, "context": context[:200]}
