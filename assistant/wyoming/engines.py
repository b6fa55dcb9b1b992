"""The one place the Wyoming code meets assistant/speech: STT, TTS and wake word from the config.

Why one adapter: the speech engines are chosen by `[speech]` / `[tts]` and grow (Piper,
microWakeWord, ...) behind the factory functions of assistant/speech; calling only those
factories, here, keeps the Wyoming programs engine-agnostic. Engines load once, on first use
or in `load()` at start-up (off the event loop), and are shared by all connections.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from assistant.config import Config

log = logging.getLogger("assistant.wyoming")

__all__ = ["Engines", "Voice"]


@dataclass(frozen=True)
class Voice:
    name: str
    engine: str
    languages: tuple[str, ...]


class Engines:
    """Lazily loaded speech engines; each getter raises a SpeechError/TtsError with a fix."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._stt: Any = None
        self._speaker: Any = None
        self._wake: Any = None
        self.errors: dict[str, str] = {}  # program -> why its engine could not load

    # -- speech-to-text -------------------------------------------------------------
    def stt(self) -> Any:
        with self._lock:
            if self._stt is None:
                from assistant.speech.stt import make_recognizer

                self._stt = make_recognizer(self.cfg, phrases=None)
            return self._stt

    def transcribe(self, pcm16k: bytes) -> str:
        """The text of one utterance (16 kHz mono s16le); "" when nothing was recognised."""
        return self.stt().transcribe(pcm16k)

    @property
    def stt_name(self) -> str:
        return self.cfg.speech.engine

    # -- text-to-speech -------------------------------------------------------------
    def speaker(self) -> Any:
        with self._lock:
            if self._speaker is None:
                from assistant.speech import tts

                factory = getattr(tts, "make_synthesizer", None)  # a synthesis-only factory, if any
                self._speaker = factory(self.cfg) if factory else tts.make_speaker(self.cfg)
                if not callable(getattr(self._speaker, "synthesize", None)):
                    raise tts.TtsError(f"[tts] engine = {self.cfg.tts.engine!r} cannot produce "
                                       "audio for Wyoming: choose espeak-ng, flite or piper")
            return self._speaker

    def synthesize(self, text: str) -> bytes:
        """Speech for `text` as 16 kHz mono s16le PCM."""
        from assistant.speech.audio import decode_wav

        return decode_wav(self.speaker().synthesize(text))

    def voices(self) -> list[Voice]:
        t = self.cfg.tts
        return [Voice(t.voice or "default", t.engine, (self.cfg.speech.language or "en",))]

    @property
    def tts_available(self) -> bool:
        return self.cfg.tts.engine not in ("none", "hermes")

    # -- wake word ------------------------------------------------------------------
    def wake(self) -> Any:
        """A loaded detector of `[speech] wake_engine` (checks the model at start); every
        stream gets its own with `new_wake()`, since detectors keep state between chunks."""
        with self._lock:
            if self._wake is None:
                self._wake = self.new_wake()
            return self._wake

    def new_wake(self) -> Any:
        from assistant.speech.wakeword import make_wake_detector

        return make_wake_detector(self.cfg)

    @property
    def wake_phrase(self) -> str:
        from assistant.speech.wakeword import wake_words

        words = wake_words(self.cfg)
        return words[0] if words else ""

    def load(self, stt: bool, tts: bool, wake: bool) -> None:
        """Load what will be needed now, so the first request is not slow; log what fails."""
        for program, name, wanted, getter in (("asr", "speech-to-text", stt, self.stt),
                                              ("tts", "text-to-speech", tts, self.speaker),
                                              ("wake", "wake word", wake, self.wake)):
            if not wanted:
                continue
            try:
                getter()
            except Exception as exc:  # noqa: BLE001 - engines raise their own error types
                self.errors[program] = str(exc)
                log.error("wyoming: %s unavailable (not offered in info): %s", name, exc)

    def close(self) -> None:
        with self._lock:
            for part in (self._stt, self._speaker):
                try:
                    if part is not None:
                        part.close()
                except Exception:
                    log.debug("closing %r failed", part, exc_info=True)
            self._stt = self._speaker = self._wake = None
