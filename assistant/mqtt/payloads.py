"""Turn the raw bytes of `{root}/{site}/command` into a `Request`, or a clear error.

The contract (DESIGN.md): plain UTF-8 text, or a JSON object `{"text": str, "id": str?}`.
A payload whose first non-blank character is `{` or `[` is read as JSON; anything else is
the text itself, so "42" or "hello" are commands, not JSON values. Every rejection says
what was wrong in words an automation author can act on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assistant.events import Request

ALLOWED_FIELDS = ("text", "id")
MAX_ID_CHARS = 200
SITE_RE = re.compile(r"^[\w.\-]{1,64}$")


class PayloadError(ValueError):
    """A command that cannot be served; `id` is the request id when it could be read."""

    def __init__(self, message: str, id: Any = None) -> None:
        super().__init__(message)
        self.id = id


@dataclass
class Command:
    """A valid command: the request for the pipeline and the id exactly as it was sent."""

    request: Request
    raw_id: Any = None


def check_site(site: str, known: list[str], accept_any: bool) -> str | None:
    """None if `site` may be served, else the reason it may not."""
    if site in known:
        return None
    if not SITE_RE.match(site):
        return (f"site name {site[:70]!r} is not valid: use 1-64 letters, digits, '_', '-' or '.'")
    if not accept_any and site not in known:
        return (f"unknown site {site!r}: this daemon serves {', '.join(known)} "
                "(add it to [mqtt] sites or set accept_any_site = true)")
    return None


def parse_command(payload: bytes, site: str, max_bytes: int, source: str = "mqtt") -> Command:
    """Validate one command payload; raises PayloadError naming the problem."""
    if len(payload) > max_bytes:
        raise PayloadError(f"payload too large: {len(payload)} bytes, the limit is {max_bytes} "
                           "([mqtt] max_payload_bytes)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 text: byte 0x{payload[exc.start]:02x} at "
                           f"position {exc.start} is invalid") from None
    stripped = text.strip()
    if not stripped:
        raise PayloadError('empty command: send text, or JSON {"text": "...", "id": "..."}')
    if stripped[0] not in "{[":
        if "\x00" in stripped:
            raise PayloadError("command text contains a NUL character")
        return Command(Request(text=stripped, site=site, source=source))
    data = load_json(stripped)
    if not isinstance(data, dict):
        raise PayloadError(f'expected a JSON object {{"text": ..., "id": ...}}, got {_kind(data)}')
    raw_id = data.get("id")
    id_ok = raw_id is None or (isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool))
    echo = raw_id if id_ok else None
    if not id_ok:
        raise PayloadError(f"field 'id' must be a string or an integer, got {_kind(raw_id)}")
    if raw_id is not None and len(str(raw_id)) > MAX_ID_CHARS:
        raise PayloadError(f"field 'id' is longer than {MAX_ID_CHARS} characters")
    unknown = [k for k in data if k not in ALLOWED_FIELDS]
    if unknown:
        names = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise PayloadError(f"unknown field(s) {names}: allowed are {', '.join(ALLOWED_FIELDS)}", echo)
    if "text" not in data:
        raise PayloadError("missing field 'text'", echo)
    if not isinstance(data["text"], str):
        raise PayloadError(f"field 'text' must be a string, got {_kind(data['text'])}", echo)
    body = data["text"].strip()
    if not body:
        raise PayloadError("field 'text' is empty", echo)
    if "\x00" in body:
        raise PayloadError("field 'text' contains a NUL character", echo)
    problem = _unencodable(raw_id) or _unencodable(body)
    if problem:
        field = "id" if _unencodable(raw_id) else "text"
        raise PayloadError(f"field {field!r} {problem}", None if field == "id" else echo)
    rid = None if raw_id is None else str(raw_id)
    return Command(Request(text=body, site=site, id=rid, source=source), raw_id)


def load_json(text: str) -> Any:
    """json.loads that turns *every* decoding failure into a PayloadError.

    Besides JSONDecodeError, Python raises a plain ValueError for an integer of more than
    4,300 digits and RecursionError for deep nesting: left uncaught, one such payload would
    go unanswered and unacknowledged, and the broker would redeliver it forever."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise PayloadError("invalid JSON: nested too deeply") from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise PayloadError(f"invalid JSON: {str(exc)[:120]}") from None


def _unencodable(value: Any) -> str | None:
    """Why `value` cannot be sent back as UTF-8 (a lone surrogate escape such as \\ud800)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"contains an invalid character (lone surrogate U+{ord(value[exc.start]):04X} "
                f"at position {exc.start}); send valid Unicode")
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
