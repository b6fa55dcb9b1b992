"""Wake words: streaming detectors behind one interface, chosen by `[speech] wake_engine`.

Why streaming: a wake word is found in the continuous audio, before any VAD or speech-to-text,
the way Home Assistant's voice satellites do it, so the expensive engines only run on audio
that was addressed to the assistant and the command may follow the wake word without a pause.

Engines (all offline, models inside their PyPI wheels):
- `micro`: microWakeWord (pymicro-wakeword; okay_nabu, hey_jarvis, hey_mycroft, alexa or a
  model .json). The default: a few ms of CPU per second of audio.
- `openwakeword`: openWakeWord (pyopen-wakeword; the same names plus hey_rhasspy, or a .tflite).
- `pocketsphinx`: keyphrase spotting with the wheel's English model: any phrase of dictionary
  words ("hey assistant"), no training, weaker in noise.

Interface (also used by assistant/wyoming): `make_wake_detector(cfg)` returns a `WakeDetector`
or None (no wake word configured); `detector.process(pcm)` takes 16 kHz mono s16le bytes of any
length and returns the `Detection`s that ended inside them; `detector.reset()` forgets the
stream (a new connection). Several wake words run at once; each detection names its word.
"""

from __future__ import annotations

import ctypes
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Config
from assistant.speech.stt import SpeechError

log = logging.getLogger("assistant.speech")

RATE = 16000
BYTES_PER_S = RATE * 2
MICRO_NAMES = ("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa")
OPEN_NAMES = ("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa", "hey_rhasspy")
DEFAULT_THRESHOLD = {"openwakeword": 0.5, "pocketsphinx": 1e-20}


@dataclass(frozen=True)
class Detection:
    """One wake word heard: its name and where it ended, in bytes into the chunk given (may be
    negative: the word ended in audio given earlier, as pocketsphinx reports it late)."""

    name: str
    end_byte: int
    score: float


class WakeDetector:
    """Feed audio, get detections. Subclasses implement `_scores`."""

    engine = "base"

    def __init__(self, names: list[str], trigger_level: int = 1, refractory_s: float = 2.0) -> None:
        self.names = names
        self.trigger_level = max(1, trigger_level)
        self.refractory_bytes = int(refractory_s * BYTES_PER_S)
        self._above = dict.fromkeys(names, 0)
        self._pos = 0  # bytes of audio processed since the last reset
        self._last = -(10**12)

    def process(self, pcm: bytes) -> list[Detection]:
        """The wake words that ended inside `pcm` (16 kHz mono s16le); never more than one per
        refractory period."""
        out: list[Detection] = []
        start = self._pos
        for name, offset, score, above in self._scores(pcm):
            at = start + offset
            self._above[name] = self._above[name] + 1 if above else 0
            if self._above[name] >= self.trigger_level and at - self._last >= self.refractory_bytes:
                self._last = at
                self._above = dict.fromkeys(self.names, 0)
                out.append(Detection(name, min(offset, len(pcm)), score))
        self._pos += len(pcm)
        return out

    def _scores(self, pcm: bytes) -> list[tuple[str, int, float, bool]]:
        """(name, byte offset into pcm where the score's window ends, score, above threshold)."""
        raise NotImplementedError

    def reset(self) -> None:
        self._above = dict.fromkeys(self.names, 0)
        self._pos = 0
        self._last = -(10**12)

    def close(self) -> None:
        """Release native resources (tests, benches)."""


def _check_tflite(path: Path, what: str, lib_path: Path | None = None) -> None:
    """A missing or corrupt model would crash inside TFLite's C API: refuse it here instead."""
    fix = f"reinstall it or set [speech] {what}"
    if not path.is_file():
        raise SpeechError(f"wake word model {path} not found; {fix}")
    head = path.read_bytes()[:8]
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise SpeechError(f"wake word model {path} is not a TFLite model (corrupt?); {fix}")
    if lib_path is not None:
        lib = ctypes.CDLL(str(lib_path))
        lib.TfLiteModelCreateFromFile.argtypes = [ctypes.c_char_p]
        lib.TfLiteModelCreateFromFile.restype = ctypes.c_void_p
        lib.TfLiteModelDelete.argtypes = [ctypes.c_void_p]
        model = lib.TfLiteModelCreateFromFile(str(path).encode())
        if not model:
            raise SpeechError(f"wake word model {path} cannot be loaded (corrupt?); {fix}")
        lib.TfLiteModelDelete(model)


def _tflite_lib(package: str) -> Path:
    folder = Path(__import__(package).__file__).parent / "lib"
    found = next(iter(folder.glob("*tensorflowlite_c.*")), None)
    if found is None:
        raise SpeechError(f"{package} has no TFLite runtime for this platform ({folder})")
    return found


def spoken_name(name: str) -> str:
    """'okay_nabu' or '/x/okay_nabu.json' -> 'okay nabu' (what people say; stripped from text)."""
    return Path(name).stem.replace("_", " ").strip().lower() if name else ""


class MicroWake(WakeDetector):
    """microWakeWord: streaming features every 10 ms, the model every 30 ms."""

    engine = "micro"

    def __init__(self, words: list[str], threshold: float = 0.0, trigger_level: int = 1,
                 refractory_s: float = 2.0) -> None:
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures
        except ImportError:
            raise SpeechError("wake_engine micro needs pymicro-wakeword: `pip install "
                              "pymicro-wakeword`, or set [speech] wake_engine") from None
        import pymicro_wakeword

        lib = _tflite_lib("pymicro_wakeword")
        builtin = Path(pymicro_wakeword.__file__).parent / "models"
        self.models = []
        names = []
        for word in words:
            cfg_path = builtin / f"{word}.json" if word in MICRO_NAMES else Path(word)
            if cfg_path.suffix != ".json":
                raise SpeechError(f"[speech] wake_word {word!r}: micro takes one of "
                                  f"{', '.join(MICRO_NAMES)} or a model .json file")
            try:
                spec = json.loads(cfg_path.read_text(encoding="utf-8"))
                tflite = cfg_path.parent / spec["model"]
            except FileNotFoundError:
                raise SpeechError(f"wake word model {cfg_path} not found; fix [speech] "
                                  "wake_word") from None
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise SpeechError(f"wake word model {cfg_path} is not a microWakeWord JSON "
                                  "(corrupt?); fix [speech] wake_word") from None
            _check_tflite(tflite, "wake_word", lib)
            try:
                model = MicroWakeWord.from_config(cfg_path, libtensorflowlite_c_path=lib)
            except Exception as exc:  # noqa: BLE001
                raise SpeechError(f"wake word model {cfg_path} cannot be loaded: {exc}") from None
            if threshold > 0:
                model.probability_cutoff = threshold
            self.models.append(model)
            names.append(Path(word).stem)
        super().__init__(names, trigger_level, refractory_s)
        self._features = MicroWakeWordFeatures()
        self._feature_pos = 0  # bytes of audio turned into features

    def _scores(self, pcm: bytes) -> list[tuple[str, int, float, bool]]:
        out = []
        base = self._feature_pos - self._pos  # audio of earlier chunks still in the buffer
        consumed = 0
        for feats in self._features.process_streaming(pcm):
            consumed += 320  # one feature vector per 10 ms of audio
            for name, model in zip(self.names, self.models, strict=True):
                prob = model.process_streaming_prob(feats)
                if prob is None:
                    continue
                out.append((name, base + consumed, prob, prob > model.probability_cutoff))
        self._feature_pos += consumed
        return out

    def reset(self) -> None:
        super().reset()
        self._features.reset()
        self._feature_pos = 0
        for model in self.models:
            model.reset()

    def close(self) -> None:
        for model in self.models:
            model.close()


class OpenWake(WakeDetector):
    """openWakeWord: melspectrogram -> embedding -> per-word classifier, every 80 ms."""

    engine = "openwakeword"

    def __init__(self, words: list[str], threshold: float = 0.0, trigger_level: int = 1,
                 refractory_s: float = 2.0) -> None:
        try:
            import pyopen_wakeword
            from pyopen_wakeword import OpenWakeWord, OpenWakeWordFeatures
        except ImportError:
            raise SpeechError("wake_engine openwakeword needs pyopen-wakeword: `pip install "
                              "pyopen-wakeword`, or set [speech] wake_engine") from None
        lib = _tflite_lib("pyopen_wakeword")
        builtin = Path(pyopen_wakeword.__file__).parent / "models"
        for part in ("melspectrogram", "embedding_model"):
            _check_tflite(builtin / f"{part}.tflite", "wake_engine", lib)
        self.threshold = threshold or DEFAULT_THRESHOLD["openwakeword"]
        self.models = []
        names = []
        for word in words:
            path = builtin / f"{word}.tflite" if word in OPEN_NAMES else Path(word)
            if path.suffix != ".tflite":
                raise SpeechError(f"[speech] wake_word {word!r}: openwakeword takes one of "
                                  f"{', '.join(OPEN_NAMES)} or a .tflite file")
            _check_tflite(path, "wake_word", lib)
            self.models.append(OpenWakeWord.from_model(path, libtensorflowlite_c_path=lib))
            names.append(path.stem)
        super().__init__(names, trigger_level, refractory_s)
        self._features = OpenWakeWordFeatures(builtin / "melspectrogram.tflite",
                                              builtin / "embedding_model.tflite",
                                              libtensorflowlite_c_path=lib)

    def _scores(self, pcm: bytes) -> list[tuple[str, int, float, bool]]:
        out = []
        for emb in self._features.process_streaming(pcm):
            for name, model in zip(self.names, self.models, strict=True):
                for prob in model.process_streaming(emb):
                    out.append((name, len(pcm), prob, prob > self.threshold))
        return out

    def reset(self) -> None:
        super().reset()
        self._features.reset()
        for model in self.models:
            model.reset()

    def close(self) -> None:
        for model in self.models:
            model.close()


class SphinxWake(WakeDetector):
    """pocketsphinx keyphrase spotting: any English phrase, no model to train."""

    engine = "pocketsphinx"
    CHUNK = 3200  # 100 ms
    RESTART_BYTES = 60 * BYTES_PER_S  # start a fresh search each minute: bounded decoder state

    def __init__(self, phrases: list[str], threshold: float = 0.0, trigger_level: int = 1,
                 refractory_s: float = 2.0) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise SpeechError("wake_engine pocketsphinx needs pocketsphinx: `pip install "
                              "pocketsphinx`, or set [speech] wake_engine = \"micro\"") from None
        phrases = [" ".join(p.lower().split()) for p in phrases]
        probe = Decoder(samprate=RATE, loglevel="FATAL")
        for phrase in phrases:
            missing = [w for w in phrase.split() if probe.lookup_word(w) is None]
            if missing:
                raise SpeechError(f"[speech] wake_word {phrase!r}: words not in the English "
                                  f"dictionary: {', '.join(missing)}; choose other words")
        del probe
        super().__init__(phrases, trigger_level=1, refractory_s=refractory_s)
        t = threshold or DEFAULT_THRESHOLD["pocketsphinx"]
        kws = self._kws_file(phrases, t)
        try:
            self.decoder = Decoder(samprate=RATE, kws=kws, loglevel="FATAL")
        finally:
            Path(kws).unlink(missing_ok=True)
        self._utt_bytes = 0
        self.decoder.start_utt()

    @staticmethod
    def _kws_file(phrases: list[str], threshold: float) -> str:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            for p in phrases:
                f.write(f"{p} /{threshold:g}/\n")
            return f.name

    def _scores(self, pcm: bytes) -> list[tuple[str, int, float, bool]]:
        out = []
        d = self.decoder
        for k in range(0, len(pcm), self.CHUNK):
            piece = pcm[k:k + self.CHUNK]
            d.process_raw(piece, full_utt=False)
            self._utt_bytes += len(piece)
            hyp = d.hyp()
            if hyp is not None:
                frames = [s.end_frame for s in d.seg()]
                utt_start = self._pos + k + len(piece) - self._utt_bytes
                end = (max(frames) + 1) * 320 + utt_start - self._pos if frames else k + len(piece)
                out.append((hyp.hypstr.strip(), end, 1.0, True))
                self._restart()
            elif self._utt_bytes >= self.RESTART_BYTES:
                self._restart()
        return out

    def _restart(self) -> None:
        self.decoder.end_utt()
        self.decoder.start_utt()
        self._utt_bytes = 0

    def reset(self) -> None:
        super().reset()
        self._restart()


def wake_words(cfg: Config) -> list[str]:
    """The configured wake words: `wake_word` plus `wake_words`, without blanks or repeats."""
    sp = cfg.speech
    words = [sp.wake_word, *getattr(sp, "wake_words", [])]
    return list(dict.fromkeys(w.strip() for w in words if w and w.strip()))


def make_wake_detector(cfg: Config) -> WakeDetector | None:
    """The detector `[speech] wake_engine` names for the configured wake words, or None when no
    wake word is set (always listening). Raises SpeechError naming the file and the fix."""
    sp = cfg.speech
    words = wake_words(cfg)
    if not words:
        return None
    engine = getattr(sp, "wake_engine", "micro")
    if engine in ("micro", "openwakeword"):
        words = [w if w in OPEN_NAMES else str(cfg.resolve_path(w)) for w in words]
    args = (words, float(sp.wake_threshold), int(getattr(sp, "wake_trigger_level", 1)),
            float(getattr(sp, "wake_refractory_s", 2.0)))
    if engine == "micro":
        return MicroWake(*args)
    if engine == "openwakeword":
        return OpenWake(*args)
    if engine == "pocketsphinx":
        return SphinxWake(*args)
    raise SpeechError(f"[speech] wake_engine = {engine!r}: expected micro, openwakeword or "
                      "pocketsphinx")


def strip_wake_text(text: str, phrase: str) -> str:
    """Drop a wake phrase the speech engine transcribed anyway ("Okay Nabu, set a timer")."""
    phrase = spoken_name(phrase) if "_" in phrase or phrase.endswith((".json", ".tflite")) else phrase
    if not phrase:
        return text
    last = phrase.lower().split()[-1]
    words = text.split()
    for i, w in enumerate(words[:len(phrase.split()) + 1]):
        if re.sub(r"\W", "", w.lower()) == last:
            return " ".join(words[i + 1:])
    return text


__all__ = ["Detection", "MicroWake", "OpenWake", "SphinxWake", "WakeDetector",
           "make_wake_detector", "spoken_name", "strip_wake_text", "wake_words"]
