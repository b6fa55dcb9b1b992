"""The Wyoming programs: what each request event turns into, on top of the one pipeline.

- handle: `transcript` -> `Assistant.handle(Request)` -> `handled` (the spoken reply) or
  `not-handled` (out of scope, or refused with the reason as text). The reply's context carries
  the conversation id (HA's, or a new one) and the site, so follow-up questions ("When should I
  remind you?") are answered by the next transcript of the same conversation.
- intent: `recognize` -> the NLU only -> `intent` {name, entities from our slots} or
  `not-recognized`; nothing is stored or scheduled.
- asr: `transcribe`? + `audio-start` / `audio-chunk`s / `audio-stop` -> `transcript`.
- tts: `synthesize` -> `audio-start` / `audio-chunk`s / `audio-stop` (16 kHz mono s16le).
- wake: `detect` + audio -> `detection` as soon as the wake word is heard, else `not-detected`
  at `audio-stop`.
Blocking work (the model, the engines, the store) runs on the service's thread pool.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.intent import Entity, Intent, NotRecognized
from wyoming.wake import Detection, NotDetected

from assistant.events import Reply, Request
from assistant.speech.audio import RATE
from assistant.wyoming.engines import Engines

log = logging.getLogger("assistant.wyoming")

SITE_RE = re.compile(r"^[^#+/\0]{1,64}$")
CHUNK_BYTES = 2048 * 2  # audio-chunk size we send: 2048 samples (128 ms at 16 kHz)

__all__ = [
    "WakeStream",
    "audio_events",
    "intent_event",
    "reply_event",
    "resolve_site",
    "wake_model_name",
]


def resolve_site(context: dict[str, Any] | None, default: str) -> str:
    """The client's site (`context.site`) when it names a valid one, else the configured one."""
    site = (context or {}).get("site")
    if isinstance(site, str) and SITE_RE.match(site):
        return site
    return default


def conversation_id(context: dict[str, Any] | None) -> str:
    cid = (context or {}).get("conversation_id")
    return cid if isinstance(cid, str) and 0 < len(cid) <= 128 else uuid.uuid4().hex


def request(text: str, context: dict[str, Any] | None, default_site: str) -> Request:
    return Request(text=text, site=resolve_site(context, default_site), source="wyoming")


def reply_event(reply: Reply, context: dict[str, Any] | None) -> Event:
    """`handled` with the spoken reply, or `not-handled` (out of scope / refused)."""
    ctx = {"conversation_id": conversation_id(context), "site": reply.site}
    if reply.ok:
        return Handled(text=reply.speech, context=ctx).event()
    return NotHandled(text=reply.speech, context=ctx).event()


def entities(slots: dict[str, Any]) -> list[Entity]:
    """Our slots as Wyoming entities: only the ones that were filled; a recurrence is its RRULE."""
    out = []
    for name, value in slots.items():
        if value is None or value == [] or value == {}:
            continue
        if name == "recurrence" and isinstance(value, dict):
            value = value.get("rrule")
        out.append(Entity(name=name, value=value))
    return out


def intent_event(parsed: Any, context: dict[str, Any] | None) -> Event:
    """`intent` {name, entities} for an understood text, `not-recognized` for out of scope."""
    if parsed.intent == "out_of_scope":
        return NotRecognized(text="Sorry, I can't help with that.", context=context).event()
    ctx = dict(context or {})
    ctx["confidence"] = round(float(parsed.confidence), 4)
    if getattr(parsed, "error", None):
        ctx["error"] = parsed.error
    return Intent(name=parsed.intent, entities=entities(parsed.slots), context=ctx).event()


def audio_events(pcm16k: bytes, timestamp_ms: int = 0) -> Iterator[Event]:
    """16 kHz mono s16le as audio-start, chunks of 128 ms and audio-stop."""
    yield AudioStart(rate=RATE, width=2, channels=1, timestamp=timestamp_ms).event()
    ts = timestamp_ms
    for k in range(0, len(pcm16k), CHUNK_BYTES):
        part = pcm16k[k:k + CHUNK_BYTES]
        yield AudioChunk(rate=RATE, width=2, channels=1, audio=part, timestamp=ts).event()
        ts += len(part) * 1000 // (RATE * 2)
    yield AudioStop(timestamp=ts).event()


def transcript_event(text: str, language: str | None) -> Event:
    return Transcript(text=text, language=language).event()


def wake_model_name(phrase: str) -> str:
    """'hey assistant' -> 'hey_assistant' (the name in Info and in detection events)."""
    return "_".join(phrase.lower().split()) or "wake"


class WakeStream:
    """Streaming wake-word search for one client's audio, with its own detector from
    `[speech] wake_engine` (detectors keep state between chunks, so none is shared).

    Every chunk goes to the detector as it comes; the first detection gives a `detection`
    with its time in the stream. The last `window_s` seconds are kept for `tail()`, the start
    of the command said right after the wake word. Memory: one window.
    """

    def __init__(self, engines: Engines, window_s: float = 2.5, step_s: float = 0.75) -> None:
        self.engines = engines
        self.detector = engines.new_wake()
        self.window = int(window_s * RATE) * 2
        self.buf = bytearray()
        self.offset = 0  # bytes of stream before buf[0]
        self.total = 0  # bytes of stream fed
        self.detected_at: int | None = None  # stream byte offset just after the wake word
        self.name: str | None = None
        self.seconds = 0.0

    def feed(self, pcm16k: bytes, final: bool = False) -> int | None:
        """Add audio (blocking: runs the detector); the stream offset after the wake word, or None."""
        if self.detected_at is not None or self.detector is None:
            return None
        start = self.total
        self.total += len(pcm16k)
        self.buf += pcm16k
        if len(self.buf) > self.window:
            drop = len(self.buf) - self.window
            del self.buf[:drop]
            self.offset += drop
        t0 = time.perf_counter()
        hits = self.detector.process(pcm16k)
        self.seconds += time.perf_counter() - t0
        if not hits:
            return None
        self.detected_at = max(0, start + hits[0].end_byte)
        self.name = hits[0].name
        return self.detected_at

    def tail(self) -> bytes:
        """The audio heard after the wake word (the start of the command)."""
        if self.detected_at is None:
            return b""
        return bytes(self.buf[max(0, self.detected_at - self.offset):])

    def detection(self) -> Event:
        ts = (self.detected_at or 0) * 1000 // (RATE * 2)
        name = wake_model_name(self.name or self.engines.wake_phrase)
        return Detection(name=name, timestamp=ts).event()

    def close(self) -> None:
        if self.detector is not None:
            try:
                self.detector.close()
            except Exception:  # noqa: BLE001 - native engines raise their own types
                log.debug("closing a wake-word detector failed", exc_info=True)
            self.detector = None

    @staticmethod
    def not_detected() -> Event:
        return NotDetected().event()
