"""The Wyoming server: one `Session` per connection, events answered by the enabled programs.

A client (HA's Wyoming integration, `wyoming` scripts, another satellite server) connects over
TCP or a unix socket and sends events; each is answered on the same connection. Every input
gets an answer: a malformed stream (bad header, oversized or truncated body, unsupported
audio, an event type that is not Wyoming) gets an `error` event where the socket still works,
one log line, and the connection is closed; other clients are unaffected. A Wyoming event this
server does not serve (e.g. `run-pipeline`) gets an `error` event and the connection stays up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from wyoming.asr import Transcribe, Transcript
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled
from wyoming.info import Describe
from wyoming.intent import Recognize
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize

from assistant.config import Config
from assistant.wyoming import programs
from assistant.wyoming.audio import AudioBuffer, AudioFormat, AudioFormatError, to_pcm16k
from assistant.wyoming.engines import Engines
from assistant.wyoming.info import build_info, offered_programs
from assistant.wyoming.protocol import Limits, ProtocolError, read_event, write_event

log = logging.getLogger("assistant.wyoming")

__all__ = ["WYOMING_TYPES", "Hub", "Server", "Session"]

# Every event type of the Wyoming protocol (wyoming 1.10); anything else closes the connection.
WYOMING_TYPES = frozenset("""
describe info select-program ping pong error
transcribe transcript transcript-start transcript-chunk transcript-stop
audio-start audio-chunk audio-stop played
synthesize synthesize-start synthesize-chunk synthesize-stop synthesize-stopped
detect detection not-detected voice-started voice-stopped
recognize intent not-recognized intents-start intents-stop
handled not-handled handled-start handled-chunk handled-stop
run-pipeline run-satellite pause-satellite streaming-started streaming-stopped
satellite-connected satellite-disconnected
timer-started timer-updated timer-cancelled timer-finished
""".split())  # noqa: SIM905 (one line per protocol area reads better)


@dataclass
class Hub:
    """What every session and satellite shares: config, pipeline, engines, a worker pool."""

    cfg: Config
    assistant: Any
    engines: Engines
    pool: ThreadPoolExecutor
    programs: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    handled_ms: deque = field(default_factory=lambda: deque(maxlen=1000))
    _asked_by: dict = field(default_factory=dict)  # site -> conversation with a pending question
    _conversations_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, cfg: Config, assistant: Any, engines: Engines | None = None) -> Hub:
        engines = engines or Engines(cfg)
        w = cfg.wyoming
        return cls(cfg, assistant, engines, ThreadPoolExecutor(4, thread_name_prefix="wyoming"),
                   offered_programs(cfg, engines),
                   Limits(max_payload=w.max_payload_bytes))

    @property
    def site(self) -> str:
        return self.cfg.wyoming.site or self.cfg.mqtt.site

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def handle_text(self, text: str, context: dict | None, site: str | None = None) -> Any:
        """Run one text through the pipeline; a follow-up question belongs to its conversation.

        The pipeline keeps one pending question per site. Wyoming clients name their
        conversation (HA's conversation_id), so a question asked in one conversation is set
        aside while another conversation on the same site is served, and put back afterwards:
        only the conversation that was asked answers it.
        """
        from assistant.events import Request

        site = site or programs.resolve_site(context, self.site)
        cid = (context or {}).get("conversation_id")
        req = Request(text=text, site=site, source="wyoming")
        dialogues = getattr(self.assistant, "dialogues", None)
        if dialogues is None or not hasattr(dialogues, "site"):
            return self.assistant.handle(req)
        state = dialogues.site(site)
        with self._conversations_lock:
            owner = self._asked_by.get(site)
            stash = None
            if state.follow_up is not None and owner is not None and owner != cid:
                stash = (state.follow_up, state.follow_up_ts)
                state.follow_up = None
            reply = self.assistant.handle(req)
            if state.follow_up is not None and (stash is None or state.follow_up is not stash[0]):
                self._asked_by[site] = cid
            elif stash is not None:
                state.follow_up, state.follow_up_ts = stash
            else:
                self._asked_by.pop(site, None)
        return reply

    def parse(self, text: str) -> Any:
        return self.assistant.parser.parse(text, None, self.assistant.zone)


class Session:
    """One client connection."""

    def __init__(self, hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: str) -> None:
        self.hub = hub
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.mode = "asr"  # what audio is for: "asr" (after transcribe) or "wake" (after detect)
        self.language: str | None = None
        self.audio: AudioBuffer | None = None
        self.wake: programs.WakeStream | None = None
        self.fmt: AudioFormat | None = None

    async def send(self, event: Event) -> None:
        await write_event(event, self.writer)

    async def run(self) -> None:
        try:
            while True:
                event = await read_event(self.reader, self.hub.limits)
                if event is None:
                    if self.audio is not None:
                        log.warning("wyoming client %s disconnected in the middle of an audio "
                                    "stream (%.1f s received); dropped", self.peer,
                                    self.audio.received_s)
                    elif self.wake is not None:  # HA ends a wake-word stream by hanging up
                        log.debug("wyoming client %s ended its wake-word stream", self.peer)
                    break
                if not await self.dispatch(event):
                    break
        except (ProtocolError, AudioFormatError) as exc:
            log.warning("wyoming client %s: %s; closing the connection", self.peer, exc)
            await self._try_send(Error(text=str(exc), code="bad-request").event())
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.warning("wyoming client %s: connection lost (%s)", self.peer,
                        type(exc).__name__)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("wyoming client %s: internal error; closing the connection", self.peer)
            await self._try_send(Error(text=f"internal error: {type(exc).__name__}",
                                       code="internal").event())
        finally:
            self.audio = self.wake = None
            self.writer.close()

    async def _try_send(self, event: Event) -> None:
        try:
            await asyncio.wait_for(self.send(event), 2.0)
        except (OSError, TimeoutError, RuntimeError):
            pass

    async def dispatch(self, event: Event) -> bool:
        """Answer one event; False closes the connection."""
        t, offered = event.type, self.hub.programs
        if Describe.is_type(t):
            working = [p for p in offered if p not in self.hub.engines.errors]
            await self.send(build_info(self.hub.cfg, self.hub.engines, working).event())
        elif Ping.is_type(t):
            await self.send(Pong(text=event.data.get("text")).event())
        elif Transcript.is_type(t) and ("handle" in offered or "intent" in offered):
            await self._transcript(event)
        elif Recognize.is_type(t) and "intent" in offered:
            await self._recognize(event)
        elif Transcribe.is_type(t) and "asr" in offered:
            self.mode, self.language = "asr", event.data.get("language")
        elif t == "detect" and "wake" in offered:
            self.mode, self.wake = "wake", programs.WakeStream(self.hub.engines)
        elif t == "audio-start" and self._audio_wanted():
            self._start_audio(AudioFormat.from_data(event.data))
        elif t == "audio-chunk" and self._audio_wanted():
            await self._chunk(event)
        elif t == "audio-stop" and self._audio_wanted():
            await self._stop_audio()
        elif Synthesize.is_type(t) and "tts" in offered:
            await self._synthesize(event)
        elif t in ("pong", "select-program"):
            pass  # nothing to answer
        elif t in WYOMING_TYPES:
            log.info("wyoming client %s: %r is not served here (programs: %s)", self.peer, t,
                     ", ".join(offered))
            await self.send(Error(text=f"event type {t!r} is not served by this server; it "
                                  f"offers {', '.join(offered) or 'nothing'}",
                                  code="unsupported").event())
        else:
            log.warning("wyoming client %s: unknown event type %r; closing the connection",
                        self.peer, t[:60])
            await self.send(Error(text=f"unknown event type {t[:60]!r}",
                                  code="unknown-event").event())
            return False
        return True

    # -- handle / intent ------------------------------------------------------------
    async def _transcript(self, event: Event) -> None:
        tr = Transcript.from_event(event) if isinstance(event.data.get("text"), str) else None
        if tr is None:
            await self.send(Error(text="transcript without a text", code="bad-request").event())
            return
        if not isinstance(tr.context, dict):
            tr.context = None
        if "handle" not in self.hub.programs:
            await self._recognize(event)
            return
        t0 = time.perf_counter()
        reply = await self.hub.call(self.hub.handle_text, tr.text, tr.context)
        out = programs.reply_event(reply, tr.context)
        await self.send(out)
        self.hub.handled_ms.append((time.perf_counter() - t0) * 1000)
        log.info("wyoming %s: %r on %s -> %s (%s)", self.peer, tr.text[:80], reply.site,
                 reply.intent, "handled" if Handled.is_type(out.type) else "not handled")

    async def _recognize(self, event: Event) -> None:
        text = event.data.get("text")
        if not isinstance(text, str):
            await self.send(Error(text=f"{event.type} without a text", code="bad-request").event())
            return
        context = event.data.get("context") if isinstance(event.data.get("context"), dict) else None
        parsed = await self.hub.call(self.hub.parse, text[:1000])
        await self.send(programs.intent_event(parsed, context))

    # -- audio: asr and wake ----------------------------------------------------------
    def _audio_wanted(self) -> bool:
        return ("asr" in self.hub.programs and self.mode == "asr") or (
            "wake" in self.hub.programs and self.mode == "wake")

    def _start_audio(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        if self.mode == "wake":
            self.wake = self.wake or programs.WakeStream(self.hub.engines)
        else:
            self.audio = AudioBuffer(fmt, self.hub.cfg.wyoming.max_audio_s)

    async def _chunk(self, event: Event) -> None:
        fmt = AudioFormat.from_data(event.data)
        if self.mode == "wake":
            if self.wake is None:
                self.wake = programs.WakeStream(self.hub.engines)
            if self.wake.detected_at is not None:
                return  # already answered; the client stops when it likes
            try:
                found = await self.hub.call(self.wake.feed, to_pcm16k(event.payload or b"", fmt))
            except AudioFormatError:
                raise
            except Exception as exc:  # noqa: BLE001 - engines raise their own error types
                log.error("wyoming %s: wake word detection failed: %s", self.peer, exc)
                await self.send(Error(text=f"wake word detection failed: {exc}",
                                      code="wake").event())
                self.wake, self.mode = None, "asr"
                return
            if found is not None:
                await self.send(self.wake.detection())
            return
        if self.audio is None:
            self._start_audio(fmt)  # audio-chunk without audio-start: take its own format
        assert self.audio is not None
        self.audio.add(event.payload or b"", fmt)

    async def _stop_audio(self) -> None:
        if self.mode == "wake":
            wake, self.wake = self.wake, None
            if wake is not None and wake.detected_at is None:
                found = await self.hub.call(wake.feed, b"", True)
                await self.send(wake.detection() if found is not None else wake.not_detected())
            elif wake is None:
                await self.send(programs.WakeStream.not_detected())
            self.mode = "asr"
            return
        audio, self.audio = self.audio, None
        pcm = audio.pcm() if audio is not None else b""
        try:
            text = await self.hub.call(self.hub.engines.transcribe, pcm) if pcm else ""
        except Exception as exc:  # noqa: BLE001 - engines raise their own error types
            log.error("wyoming %s: speech-to-text failed: %s", self.peer, exc)
            await self.send(Error(text=f"speech-to-text failed: {exc}", code="asr").event())
            return
        log.info("wyoming %s: transcribed %.1f s of audio: %r", self.peer,
                 len(pcm) / 32000, text[:80])
        await self.send(programs.transcript_event(text, self.language))

    # -- tts ----------------------------------------------------------------------------
    async def _synthesize(self, event: Event) -> None:
        text = event.data.get("text")
        if not isinstance(text, str) or not text.strip():
            await self.send(Error(text="synthesize without a text", code="bad-request").event())
            return
        try:
            pcm = await self.hub.call(self.hub.engines.synthesize, text[:2000])
        except Exception as exc:  # noqa: BLE001 - engine errors carry their own message
            log.error("wyoming %s: synthesis failed: %s", self.peer, exc)
            await self.send(Error(text=f"synthesis failed: {exc}", code="tts").event())
            return
        for ev in programs.audio_events(pcm):
            await self.send(ev)


class Server:
    """Listens on `[wyoming] uri` (tcp://HOST:PORT or unix:///PATH)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.uri = hub.cfg.wyoming.uri
        self._server: asyncio.AbstractServer | None = None
        self.sessions: set[asyncio.Task] = set()
        self.port: int | None = None
        self.served = 0

    async def start(self) -> None:
        u = urlparse(self.uri)
        limit = self.hub.limits.max_header
        if u.scheme == "unix":
            from pathlib import Path

            Path(u.path).unlink(missing_ok=True)
            self._server = await asyncio.start_unix_server(self._accept, path=u.path, limit=limit)
        else:
            self._server = await asyncio.start_server(self._accept, host=u.hostname, port=u.port,
                                                      limit=limit)
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("wyoming server listening on %s (programs: %s)", self.uri,
                 ", ".join(self.hub.programs) or "none")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or "unix socket"
        peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "unix")
        if len(self.sessions) >= self.hub.cfg.wyoming.max_clients:
            log.warning("wyoming client %s refused: already %d connections", peer,
                        len(self.sessions))
            try:
                await asyncio.wait_for(write_event(Error(
                    text="too many connections; try again later", code="busy").event(), writer), 2)
            except (OSError, TimeoutError):
                pass
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        self.served += 1
        try:
            await Session(self.hub, reader, writer, peer).run()
        finally:
            self.sessions.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self.sessions):
            task.cancel()
        if self.sessions:
            await asyncio.wait(list(self.sessions), timeout=2)
        u = urlparse(self.uri)
        if u.scheme == "unix":
            from pathlib import Path

            Path(u.path).unlink(missing_ok=True)
