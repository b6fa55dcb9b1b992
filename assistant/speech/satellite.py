"""Audio from satellites over MQTT: rooms without the daemon's own microphone.

Framing on `{root}/{site}/audio` (one MQTT message each; modelled on Hermes
`hermes/audioServer/{siteId}/audioFrame`):

- **Audio frame**: a complete small WAV file (RIFF header + PCM), typically 20-100 ms of audio.
  Any rate, channel count and sample format `load_wav` reads is accepted (16 kHz mono s16 is
  cheapest). Frames of one site are appended in arrival order.
- **End of utterance**: an empty payload, or the JSON object `{"end": true}`. What the site
  sent since its last utterance is transcribed now.
- Without an end marker, an utterance also ends by itself after `silence_s` of silence (VAD),
  or at `max_utterance_s`, so a satellite that just streams (like Hermes) works too.
- The site is the topic's `{site}` segment; recognised text is passed to `on_text(text, site)`
  and goes through the same pipeline as MQTT text. Satellites do their own wake word or
  push-to-talk: everything a satellite sends is treated as addressed to the assistant.
- A frame that is not a WAV (or JSON that is not the end marker) is dropped with one warning
  per site; audio never raises into the MQTT client.

Transcription runs on one worker thread, so `feed` returns at once and never blocks the MQTT
network loop.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable

from assistant.speech.audio import AudioError, decode_wav
from assistant.speech.stt import SpeechToText
from assistant.speech.vad import Segmenter

log = logging.getLogger("assistant.speech")

END_MARKER = b'{"end": true}'


def is_end_marker(payload: bytes) -> bool:
    """An empty payload or JSON {"end": true} ends the utterance."""
    if not payload.strip():
        return True
    if payload[:1] != b"{":
        return False
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(obj, dict) and obj.get("end") is True


class SatelliteAudio:
    """Per-site buffers of satellite audio, cut into utterances and transcribed."""

    def __init__(self, stt: SpeechToText, on_text: Callable[[str, str], None], *,
                 aggressiveness: int = 2, silence_s: float = 0.8,
                 max_utterance_s: float = 10.0, max_sites: int = 64) -> None:
        self.stt = stt
        self.on_text = on_text
        self._params = (aggressiveness, silence_s, max_utterance_s)
        self._sites: dict[str, Segmenter] = {}
        self._warned: set[str] = set()
        self._max_sites = max_sites
        self._lock = threading.Lock()
        self._work: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=32)
        self._worker = threading.Thread(target=self._run, name="satellite-stt", daemon=True)
        self._worker.start()
        self.utterances = 0

    def feed(self, site: str, payload: bytes) -> None:
        """One MQTT message from `{root}/{site}/audio`; never raises."""
        try:
            self._feed(site, payload)
        except Exception:
            log.exception("satellite audio from %s dropped", site)

    def _feed(self, site: str, payload: bytes) -> None:
        if is_end_marker(payload):
            with self._lock:
                seg = self._sites.pop(site, None)
            utt = seg.flush() if seg is not None else None
            if utt is not None:
                self._submit(site, utt)
            return
        try:
            pcm = decode_wav(payload)
        except AudioError as exc:
            if site not in self._warned:
                self._warned.add(site)
                log.warning("satellite %s: audio frame dropped: %s (expected WAV chunks and an "
                            "empty or {\"end\": true} message at the end)", site, exc)
            return
        with self._lock:
            seg = self._sites.get(site)
            if seg is None:
                if len(self._sites) >= self._max_sites:
                    log.warning("satellite %s ignored: already %d sites streaming", site,
                                len(self._sites))
                    return
                seg = self._sites[site] = Segmenter(*self._params)
            done = seg.feed(pcm)
        for utt in done:
            self._submit(site, utt)

    def _submit(self, site: str, utt: bytes) -> None:
        try:
            self._work.put_nowait((site, utt))
        except queue.Full:
            log.warning("satellite %s: utterance dropped, speech-to-text is behind", site)

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            site, utt = item
            try:
                text = self.stt.transcribe(utt)
                if text:
                    self.utterances += 1
                    self.on_text(text, site)
            except Exception:
                log.exception("satellite %s: utterance failed", site)
            finally:
                self._work.task_done()

    def wait_idle(self) -> None:
        """Block until every queued utterance has been handled (tests, shutdown)."""
        self._work.join()

    def close(self) -> None:
        self._work.put(None)
        self._worker.join(5)


def frames(wav_pcm16k: bytes, frame_ms: int = 100) -> list[bytes]:
    """A satellite's side: 16 kHz mono PCM as WAV-chunk messages plus the end marker."""
    from assistant.speech.audio import pcm_to_wav

    step = 16000 * 2 * frame_ms // 1000
    out = [pcm_to_wav(wav_pcm16k[k:k + step]) for k in range(0, len(wav_pcm16k), step)]
    return out + [END_MARKER]


__all__ = ["END_MARKER", "SatelliteAudio", "frames", "is_end_marker"]
