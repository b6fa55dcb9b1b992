"""Driving a wyoming-satellite the way Home Assistant does, with our pipeline behind it.

We connect to the satellite (it is the server), ask `describe`, then send `run-satellite`. The
satellite answers with `run-pipeline` {start_stage, end_stage} and streams its microphone:
- start_stage `wake` (it streams continuously): we spot the wake word ourselves (`[speech]
  wake_word`; empty = every utterance is a command), send `detection`, then listen;
- start_stage `asr` (it did the wake word): we listen at once.
Listening cuts the utterance with the VAD (`voice-started` / `voice-stopped`), transcribes it,
sends `transcript`, runs `Assistant.handle` on the satellite's site, and (end_stage `tts`) sends
`synthesize` {text} and the reply as `audio-start` / `audio-chunk`s / `audio-stop`, which the
satellite plays. A continuously streaming satellite is then listened to again.

Fired reminders, ringing alarms and finished timers of the satellite's site are spoken on it
the same way; timers also go out as Wyoming timer events. A satellite that is down or drops
the connection is retried with back-off (`[wyoming] retry_min_s` doubling to `retry_max_s`);
`status()` says whether it is available, for `assistant status`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any
from urllib.parse import urlparse

from wyoming.asr import Transcript
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStarted, VoiceStopped

from assistant.speech.vad import Segmenter
from assistant.wyoming import programs
from assistant.wyoming.audio import AudioFormat, AudioFormatError, to_pcm16k
from assistant.wyoming.protocol import ProtocolError, read_event, write_event
from assistant.wyoming.server import Hub

log = logging.getLogger("assistant.wyoming")

__all__ = ["SatelliteLink", "satellite_site"]

CONNECT_TIMEOUT_S = 5.0
NO_SPEECH_TIMEOUT_S = 8.0  # after the wake word: give up when nobody speaks


def satellite_site(uri: str) -> str:
    """The site of a satellite URI: the part after '#', else the host's first label."""
    u = urlparse(uri)
    if u.fragment:
        return u.fragment
    if u.scheme == "unix":
        return u.path.rsplit("/", 1)[-1].split(".")[0] or "satellite"
    host = u.hostname or "satellite"
    if host.replace(".", "").isdigit() or ":" in host:
        return host.replace(".", "-").replace(":", "-")
    return host.split(".")[0]


class SatelliteLink:
    """One configured satellite: connection, retries, its pipeline runs and announcements."""

    def __init__(self, hub: Hub, uri: str) -> None:
        self.hub = hub
        self.uri = uri.split("#", 1)[0]
        self.site = satellite_site(uri)
        self.available = False
        self.name: str | None = None
        self.last_error: str | None = None
        self.next_retry: float | None = None
        self.connects = 0
        self.commands = 0
        self.reply_ms: deque[float] = deque(maxlen=200)  # end of speech -> first reply audio
        self._writer: asyncio.StreamWriter | None = None
        self._send_lock = asyncio.Lock()
        self._run: RunPipeline | None = None
        self._stage: str | None = None
        self._wake: programs.WakeStream | None = None
        self._seg: Segmenter | None = None
        self._voice = False
        self._stage_t0 = 0.0
        self._busy = False
        self.timers: Any = None  # a TimerTracker: running timers are sent on (re)connect

    # -- connection -----------------------------------------------------------------
    async def run(self) -> None:
        w = self.hub.cfg.wyoming
        delay = w.retry_min_s
        while True:
            try:
                reader, writer = await asyncio.wait_for(self._open(), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                self._down(f"cannot connect: {exc or type(exc).__name__}", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, w.retry_max_s)
                continue
            try:
                await self._serve(reader, writer)
                reason = "the satellite closed the connection"
            except (ProtocolError, AudioFormatError) as exc:
                reason = f"protocol error: {exc}"
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                reason = f"connection lost: {exc or type(exc).__name__}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("satellite %s: unexpected error", self.site)
                reason = f"internal error: {type(exc).__name__}: {exc}"
            finally:
                self._writer = None
                writer.close()
            delay = w.retry_min_s if self.available else delay
            self._down(reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, w.retry_max_s)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        u = urlparse(self.uri)
        limit = self.hub.limits.max_header
        if u.scheme == "unix":
            return await asyncio.open_unix_connection(u.path, limit=limit)
        return await asyncio.open_connection(u.hostname, u.port, limit=limit)

    def _down(self, reason: str, retry_in: float) -> None:
        if self.available or reason != self.last_error:
            log.warning("satellite %s (%s) unavailable: %s; retrying in %.0f s", self.uri,
                        self.site, reason, retry_in)
        self.available = False
        self.last_error = reason
        self.next_retry = time.time() + retry_in
        self._reset()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        await self.send(Describe().event())
        while True:  # the satellite's info first (name, area), ignoring anything else
            event = await asyncio.wait_for(read_event(reader, self.hub.limits), CONNECT_TIMEOUT_S)
            if event is None:
                return
            if Info.is_type(event.type):
                sat = Info.from_event(event).satellite
                self.name = sat.name if sat else None
                break
        await self.send(RunSatellite().event())
        self.available, self.last_error, self.next_retry = True, None, None
        self.connects += 1
        log.info("satellite %s connected (%s) on site %s", self.uri, self.name or "unnamed",
                 self.site)
        if self.timers is not None:
            for ev in await self.hub.call(self.timers.current, self.site):
                await self.send(ev)
        while True:
            event = await read_event(reader, self.hub.limits)
            if event is None:
                return
            await self._on_event(event)

    async def send(self, *events: Event) -> None:
        async with self._send_lock:
            if self._writer is None:
                raise ConnectionError("not connected")
            for event in events:
                await write_event(event, self._writer)

    # -- events from the satellite ------------------------------------------------------
    async def _on_event(self, event: Event) -> None:
        t = event.type
        if RunPipeline.is_type(t):
            try:
                self._begin(RunPipeline.from_event(event))
            except (KeyError, ValueError) as exc:
                await self.send(Error(text=f"bad run-pipeline: {exc}", code="bad-request").event())
        elif t == "audio-chunk":
            await self._audio(event)
        elif t == "audio-stop":
            await self._audio_stop()
        elif Ping.is_type(t):
            await self.send(Pong(text=event.data.get("text")).event())
        # audio-start, streaming-started/stopped, played, ...: nothing to do

    def _reset(self) -> None:
        self._run, self._stage, self._wake, self._seg, self._voice = None, None, None, None, False

    def _begin(self, run: RunPipeline) -> None:
        self._run = run
        self._voice = False
        self._stage_t0 = time.monotonic()
        if run.start_stage == PipelineStage.WAKE and self.hub.engines.wake_phrase:
            self._stage, self._wake, self._seg = "wake", programs.WakeStream(self.hub.engines), None
        elif run.start_stage in (PipelineStage.WAKE, PipelineStage.ASR):
            self._stage, self._wake = "asr", None
            self._seg = self._segmenter()
        else:
            log.info("satellite %s: run-pipeline from %s is not supported (no audio to "
                     "listen to); ignored", self.site, run.start_stage.value)
            self._stage = None

    def _segmenter(self) -> Segmenter:
        s = self.hub.cfg.speech
        return Segmenter(s.vad_aggressiveness, s.silence_s,
                         min(s.max_utterance_s, self.hub.cfg.wyoming.max_audio_s))

    async def _audio(self, event: Event) -> None:
        if self._stage is None or self._busy:
            return
        pcm = to_pcm16k(event.payload or b"", AudioFormat.from_data(event.data))
        if self._stage == "wake":
            assert self._wake is not None
            found = await self.hub.call(self._wake.feed, pcm)
            if found is None:
                return
            log.info("satellite %s: wake word", self.site)
            await self.send(self._wake.detection())
            pcm = self._wake.tail()
            self._stage, self._seg, self._stage_t0 = "asr", self._segmenter(), time.monotonic()
        assert self._seg is not None
        done = self._seg.feed(pcm)
        if self._seg.triggered and not self._voice:
            self._voice = True
            await self.send(VoiceStarted().event())
        if done:
            await self._utterance(done[0])
        elif not self._voice and time.monotonic() - self._stage_t0 > NO_SPEECH_TIMEOUT_S:
            log.info("satellite %s: no speech after %.0f s; listening again", self.site,
                     NO_SPEECH_TIMEOUT_S)
            await self.send(Transcript(text="").event())  # a satellite waits for this to re-arm
            await self._end("")

    async def _audio_stop(self) -> None:
        if self._stage == "asr" and self._seg is not None:
            utt = self._seg.flush()
            if utt:
                await self._utterance(utt)
            else:
                await self.send(Transcript(text="").event())
                await self._end("")
        elif self._stage == "wake":
            self._reset()

    async def _utterance(self, pcm: bytes) -> None:
        t_end = time.monotonic()
        self._busy = True
        try:
            await self._command(pcm, t_end)
        except (OSError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - an engine failed: say so, listen again
            log.error("satellite %s: the command failed: %s", self.site, exc)
            await self.send(Error(text=f"command failed: {exc}", code="pipeline").event())
            await self._end("")
        finally:
            self._busy = False

    async def _command(self, pcm: bytes, t_end: float) -> None:
        """Transcribe, answer through the pipeline, speak the reply."""
        await self.send(VoiceStopped().event())
        text = await self.hub.call(self.hub.engines.transcribe, pcm)
        await self.send(Transcript(text=text).event())
        if not text:
            log.info("satellite %s: nothing recognised in %.1f s of audio", self.site,
                     len(pcm) / 32000)
            await self._end("")
            return
        reply = await self.hub.call(self.hub.handle_text, text, None, self.site)
        self.commands += 1
        log.info("satellite %s: heard %r -> %s: %r", self.site, text, reply.intent,
                 reply.speech)
        await self._end(reply.speech, t_end)

    async def _end(self, speech: str, t_end: float | None = None) -> None:
        run = self._run
        if run is not None and speech and run.end_stage == PipelineStage.TTS:
            await self.send(Synthesize(text=speech).event())
            await self._speak(speech, t_end)
        if run is not None and (run.restart_on_end or run.start_stage == PipelineStage.WAKE):
            self._begin(run)  # a continuously streaming satellite: listen again
        else:
            self._reset()

    async def _speak(self, text: str, t_end: float | None = None) -> None:
        pcm = await self.hub.call(self.hub.engines.synthesize, text)
        events = list(programs.audio_events(pcm))
        async with self._send_lock:
            if self._writer is None:
                raise ConnectionError("not connected")
            for i, ev in enumerate(events):
                await write_event(ev, self._writer)
                if i == 1 and t_end is not None:
                    self.reply_ms.append((time.monotonic() - t_end) * 1000)

    # -- from the daemon ----------------------------------------------------------------
    async def announce(self, text: str) -> None:
        """Speak a fired reminder / ringing alarm / finished timer; never raises."""
        if not self.available:
            log.warning("satellite %s unavailable: not speaking %r", self.site, text[:60])
            return
        try:
            await self.send(Synthesize(text=text).event())
            await self._speak(text)
        except Exception as exc:  # noqa: BLE001
            log.warning("satellite %s: announcement failed: %s", self.site, exc)

    async def notify(self, event: Event) -> None:
        """Send a timer event; a satellite that is down misses it (it asks again on reconnect)."""
        if not self.available:
            return
        try:
            await self.send(event)
        except Exception as exc:  # noqa: BLE001
            log.warning("satellite %s: %s not sent: %s", self.site, event.type, exc)

    def status(self) -> dict[str, Any]:
        return {"uri": self.uri, "site": self.site, "name": self.name,
                "available": self.available, "last_error": self.last_error,
                "retry_in_s": (round(max(0.0, self.next_retry - time.time()), 1)
                               if self.next_retry and not self.available else None),
                "commands": self.commands}
