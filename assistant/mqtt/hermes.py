"""Hermes (Rhasspy 2.5 / Snips) compatibility: the payloads, nothing about transport.

The service answers `hermes/nlu/query` the way an NLU service does (`hermes/nlu/intentParsed`
then `hermes/intent/<name>`, or `hermes/nlu/intentNotRecognized`), then acts on the request
and ends the dialogue session with the spoken answer (or says it with `hermes/tts/say`
when there is no session). A question back ("When should I remind you?") continues the
session instead (`hermes/dialogueManager/continueSession`), and the next query of that
session is routed to the question's skill. `intentFilter` limits what a query may be
recognized as. Field names are camelCase on the wire, as in rhasspyhermes; slot values use
the Snips/Rhasspy shapes: `{"kind": "InstantTime", "value": "2026-03-27 18:00:00 +01:00",
"grain": "Minute", "precision": "Exact"}`, `{"kind": "Duration", "years": 0, ..., "seconds":
0, "precision": "Exact", "value": <total seconds>}`, `{"kind": "Number", "value": n}`, `{"kind": "Unknown", "value":
text}` (Rhasspy's kind for free-text slots).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from assistant.events import ParseResult

QUERY = "hermes/nlu/query"
INTENT_PARSED = "hermes/nlu/intentParsed"
NOT_RECOGNIZED = "hermes/nlu/intentNotRecognized"
TTS_SAY = "hermes/tts/say"
END_SESSION = "hermes/dialogueManager/endSession"
CONTINUE_SESSION = "hermes/dialogueManager/continueSession"
ERROR_NLU = "hermes/error/nlu"
NOT_RECOGNIZED_INTENTS = {None, "", "out_of_scope"}


class HermesError(ValueError):
    pass


def intent_topic(name: str) -> str:
    return f"hermes/intent/{name}"


def parse_query(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """The NLU query as a dict with `input`, `siteId`, `id`, `sessionId`, `customData`,
    `intentFilter`, `lang`. Every way a payload can be bad ends in HermesError: bad UTF-8,
    bad JSON, nesting too deep, an integer over Python's digit limit, lone surrogates
    (valid JSON escapes that no UTF-8 reply could carry), wrong field types."""
    if len(payload) > max_bytes:
        raise HermesError(f"payload too large: {len(payload)} bytes, the limit is {max_bytes}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:  # JSONDecodeError too
        raise HermesError(f"not a JSON object: {type(exc).__name__}: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise HermesError("not a JSON object")
    if not isinstance(data.get("input"), str):
        raise HermesError("field 'input' must be a string")
    site = data.get("siteId") or "default"
    if not isinstance(site, str):
        raise HermesError("field 'siteId' must be a string")
    for key in ("sessionId", "customData", "lang"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise HermesError(f"field {key!r} must be a string")
    rid = data.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
        raise HermesError("field 'id' must be a string")
    intent_filter = data.get("intentFilter")
    if intent_filter is not None and not (
            isinstance(intent_filter, list) and all(isinstance(i, str) for i in intent_filter)):
        raise HermesError("field 'intentFilter' must be a list of intent names")
    query = {"input": data["input"], "siteId": site, "id": rid,
             "sessionId": data.get("sessionId") or None, "customData": data.get("customData"),
             "lang": data.get("lang"), "intentFilter": intent_filter or None}
    _check_encodable(query)
    return query


def _check_encodable(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise HermesError(f"field {where or 'value'!r} holds a lone surrogate "
                              "(\\ud800-\\udfff escape), which is not text") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_encodable(v, k)
    elif isinstance(value, list):
        for v in value:
            _check_encodable(v, where)


def allowed(query: dict[str, Any], intent: str | None) -> bool:
    """Whether the query's intentFilter (when it has one) lets `intent` be recognized."""
    flt = query.get("intentFilter")
    return not flt or intent in flt


TIME_SLOTS = ("when", "end")
DURATION_SLOTS = ("duration_s",)


def snips_time(iso: str) -> str:
    """ISO 8601 with offset -> Snips' "YYYY-MM-DD HH:MM:SS +HH:MM"."""
    dt = datetime.fromisoformat(iso)
    if dt.tzinfo is None:
        return dt.strftime("%Y-%m-%d %H:%M:%S")
    off = dt.strftime("%z")
    return dt.strftime("%Y-%m-%d %H:%M:%S ") + off[:3] + ":" + off[3:]


def snips_duration(seconds: float) -> dict[str, Any]:
    """Seconds -> a Snips Duration value (days, hours, minutes, seconds; larger units 0),
    plus "value" (total seconds): Rhasspy consumers (Home Assistant's intent handler) read
    `value.value` of every slot."""
    total = s = round(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return {"kind": "Duration", "years": 0, "quarters": 0, "months": 0, "weeks": 0,
            "days": days, "hours": hours, "minutes": minutes, "seconds": s,
            "precision": "Exact", "value": total}


def _slot(name: str, value: Any) -> tuple[str, str, dict[str, Any]]:
    """(entity, rawValue, value) of one of our slots."""
    if name in TIME_SLOTS and isinstance(value, str):
        try:
            when = snips_time(value)
            return "snips/datetime", when, {"kind": "InstantTime", "value": when,
                                              "grain": "Minute", "precision": "Exact"}
        except ValueError:
            pass
    if name in DURATION_SLOTS and isinstance(value, (int, float)) and not isinstance(value, bool):
        from assistant.phrasing import duration

        return "snips/duration", duration(value), snips_duration(value)
    if name == "recurrence" and isinstance(value, dict):
        rule = str(value.get("rrule") or "")
        return name, rule, {"kind": "Unknown", "value": rule}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "snips/number", str(value), {"kind": "Number", "value": value}
    if isinstance(value, str):
        return name, value, {"kind": "Unknown", "value": value}
    raw = json.dumps(value, ensure_ascii=False, default=str)
    return name, raw, {"kind": "Unknown", "value": raw}


def slots_list(text: str, slots: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Our slot dict as Hermes slot objects (entity, slotName, rawValue, value, range)."""
    out = []
    for name, value in (slots or {}).items():
        if value is None or value == [] or value == {}:
            continue
        entity, raw, val = _slot(name, value)
        slot: dict[str, Any] = {"entity": entity, "slotName": name, "rawValue": raw,
                                "value": val, "confidence": 1.0}
        pos = text.lower().find(raw.lower()) if raw else -1
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


def end_session_message(session_id: str, text: str, custom_data: str | None = None
                        ) -> dict[str, Any]:
    return {"sessionId": session_id, "text": text, "customData": custom_data}


def continue_session_message(session_id: str, text: str, custom_data: str | None = None
                             ) -> dict[str, Any]:
    """Ask a question back and keep the session: Rhasspy speaks `text`, listens again and
    sends the answer as the next query of this session. No intentFilter: an answer such as
    "at six" is routed by us to the question's skill, whatever it parses as alone; and
    sendIntentNotRecognized so an answer we cannot use still reaches us."""
    return {"sessionId": session_id, "text": text, "customData": custom_data,
            "intentFilter": None, "sendIntentNotRecognized": True, "slot": None}


def error_message(site: str, error: str, session_id: str | None, context: str) -> dict[str, Any]:
    return {"error": error, "siteId": site, "sessionId": session_id, "context": context[:200]}
