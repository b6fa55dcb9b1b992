"""Reading Wyoming events with limits, so one client can never make the daemon allocate much.

The wire format (wyoming 1.x): a JSON header line `{"type", "version", "data_length"?,
"payload_length"?, "data"?}`, then `data_length` bytes of JSON merged into the header's data,
then `payload_length` bytes (audio). The `wyoming` library's own reader trusts the lengths (a
client announcing a 100 MB payload gets 100 MB read into memory) and turns every error into a
silent EOF; this reader checks each length against a limit before reading, bounds the time a
body may take to arrive, and raises `ProtocolError` with a message for the log. Writing uses
the library (`async_write_event`), so what we send is exactly what HA's client expects.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from wyoming.event import Event, async_write_event

__all__ = ["Limits", "ProtocolError", "read_event", "write_event"]

write_event = async_write_event


class ProtocolError(ValueError):
    """A client broke the protocol; the message says how (for the log and an error event)."""


@dataclass(frozen=True)
class Limits:
    max_header: int = 65536  # the header line (the reader's buffer limit)
    max_data: int = 262144  # the data JSON
    max_payload: int = 1048576  # one payload (an audio chunk)
    body_timeout_s: float = 10.0  # data + payload must follow the header within this


async def read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    """The next event, None at a clean end of stream; ProtocolError for anything malformed."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise ProtocolError(f"truncated header: the stream ended after {len(exc.partial)} "
                            "bytes without a newline") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError(f"header line longer than {limits.max_header} bytes") from None
    except ValueError:  # the reader's own limit, reported this way by some Python versions
        raise ProtocolError(f"header line longer than {limits.max_header} bytes") from None
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"header is not JSON: {line[:80]!r}") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError(f"header has no \"type\": {line[:80]!r}")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("header \"data\" is not an object")
    data_length = _length(header, "data_length", limits.max_data)
    payload_length = _length(header, "payload_length", limits.max_payload)
    try:
        if data_length:
            raw = await asyncio.wait_for(reader.readexactly(data_length), limits.body_timeout_s)
            try:
                extra = json.loads(raw)
            except (UnicodeDecodeError, ValueError):
                raise ProtocolError("event data is not JSON") from None
            if not isinstance(extra, dict):
                raise ProtocolError("event data is not a JSON object")
            data.update(extra)
        payload = None
        if payload_length:
            payload = await asyncio.wait_for(reader.readexactly(payload_length),
                                             limits.body_timeout_s)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(f"{header['type']}: the stream ended {len(exc.partial)} bytes into a "
                            f"body of {exc.expected} announced bytes") from None
    except TimeoutError:
        raise ProtocolError(f"{header['type']}: announced {data_length} data + {payload_length} "
                            f"payload bytes, not all arrived within {limits.body_timeout_s:g} s"
                            ) from None
    return Event(type=header["type"], data=data, payload=payload)


def _length(header: dict, key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{header['type']}: {key} = {value!r} is not a byte count")
    if value > limit:
        raise ProtocolError(f"{header['type']}: {key} = {value} exceeds the limit of {limit} "
                            "bytes")
    return value
