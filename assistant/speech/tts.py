"""Spoken replies: Piper (neural, the default), espeak-ng or flite, Hermes over MQTT, a command, or none.

Why subprocesses on a queue: the synthesizers are Debian programs with no Python binding worth
the dependency, and a reply or a ringing alarm must never hold up the pipeline thread that
produced it. `say` only queues; one worker synthesizes to WAV and plays it with `aplay` (on
`[tts] output_device`), or writes the WAV to a folder when asked (`[tts] wav_dir`, tests and
boxes without a speaker). Failures are logged as one line and never raised.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import Config
from assistant.errors import AssistantError

log = logging.getLogger("assistant.speech")

TIMEOUT_S = 60.0


class TtsError(AssistantError, RuntimeError):
    """A TTS engine that cannot work here, with what to do about it."""


class Speaker:
    """Speaks text on a site. This base class is the `none` engine: it says nothing."""

    engine = "none"

    def say(self, text: str, site: str) -> None:
        """Queue `text` to be spoken on `site`; returns at once, never raises."""

    def close(self) -> None:
        """Stop the worker (tests)."""


class HermesSpeaker(Speaker):
    """Publishes to hermes/tts/say through the daemon's MQTT client (a Hermes TTS speaks it)."""

    engine = "hermes"

    def __init__(self, hermes_say: Callable[[str, str], None]) -> None:
        self.hermes_say = hermes_say

    def say(self, text: str, site: str) -> None:
        if not text.strip():
            return
        try:
            self.hermes_say(site, text)
        except Exception as exc:  # noqa: BLE001
            log.error("hermes TTS publish failed on %s: %s", site, exc)


class ProcessSpeaker(Speaker):
    """espeak-ng / flite / a custom command, synthesized and played on a worker thread."""

    def __init__(self, engine: str, voice: str = "", output_device: str = "",
                 command: list[str] | None = None, wav_dir: str = "") -> None:
        self.engine = engine
        self.voice = voice
        self.output_device = output_device
        self.command = list(command or [])
        self.wav_dir = Path(wav_dir) if wav_dir else None
        if engine == "command" and not self.command:
            raise TtsError("[tts] engine = \"command\" needs [tts] command = [\"program\", ...]")
        binary = self.command[0] if engine == "command" else engine
        if shutil.which(binary) is None:
            raise TtsError(f"{binary} not found: sudo apt-get install {binary}, "
                           "or set [tts] engine = \"none\"")
        self._check_player()
        self._start_worker()

    def _start_worker(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=32)
        self._worker = threading.Thread(target=self._run, name="tts", daemon=True)
        self._worker.start()
        self.spoken = 0
        self.last_error: str | None = None

    def _check_player(self) -> None:
        if self.wav_dir is None and self.engine != "command" and shutil.which("aplay") is None:
            raise TtsError("aplay not found: sudo apt-get install alsa-utils, or set [tts] wav_dir")

    def say(self, text: str, site: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        try:
            self._queue.put_nowait((text, site))
        except queue.Full:
            log.warning("TTS is behind; not speaking %r on %s", text[:60], site)

    def wait_idle(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(TIMEOUT_S)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._speak(*item)
            finally:
                self._queue.task_done()

    def _speak(self, text: str, site: str) -> None:
        try:
            if self.engine == "command":
                self._run_proc(self.command, text.encode("utf-8"))
            else:
                wav = self.synthesize(text)
                if self.wav_dir is not None:
                    self.wav_dir.mkdir(parents=True, exist_ok=True)
                    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9}-{site}.wav"
                    (self.wav_dir / name).write_bytes(wav)
                else:
                    argv = ["aplay", "-q"] + (["-D", self.output_device] if self.output_device else [])
                    self._run_proc(argv + ["-"], wav)
            self.spoken += 1
            self.last_error = None
        except (OSError, subprocess.SubprocessError, TtsError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if msg != self.last_error:
                log.error("speaking on %s failed: %s", site, msg)
            self.last_error = msg

    def synthesize(self, text: str) -> bytes:
        """The WAV bytes of `text` (espeak-ng or flite)."""
        if self.engine == "espeak-ng":
            argv = ["espeak-ng", "--stdout"] + (["-v", self.voice] if self.voice else [])
            return self._run_proc(argv, text.encode("utf-8"))
        if self.engine == "flite":
            fd, tmp = tempfile.mkstemp(suffix=".wav")
            os.close(fd)
            try:
                argv = ["flite"] + (["-voice", self.voice] if self.voice else []) + ["-t", text, "-o", tmp]
                self._run_proc(argv, b"")
                return Path(tmp).read_bytes()
            finally:
                os.unlink(tmp)
        raise TtsError(f"engine {self.engine} cannot write a WAV")

    def to_wav(self, text: str, path: str | os.PathLike[str]) -> None:
        """Synthesize into a file now (CLI `--wav-out` style use)."""
        Path(path).write_bytes(self.synthesize(text))

    @staticmethod
    def _run_proc(argv: list[str], stdin: bytes) -> bytes:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT_S, check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise TtsError(f"{argv[0]} exited with {proc.returncode}: {err[-1] if err else 'no message'}")
        return proc.stdout


def make_speaker(cfg: Config, hermes_say: Callable[[str, str], None] | None = None) -> Speaker:
    """The speaker `[tts] engine` names; raises TtsError (with a fix) if it cannot work here."""
    t = cfg.tts
    if t.engine == "none":
        return Speaker()
    if t.engine == "hermes":
        if hermes_say is None:
            raise TtsError("[tts] engine = \"hermes\" needs MQTT: set [mqtt] enabled = true")
        return HermesSpeaker(hermes_say)
    wav_dir = getattr(t, "wav_dir", "")
    if wav_dir:
        wav_dir = str(cfg.resolve_path(wav_dir))
    if t.engine == "piper":
        from assistant.speech.piper_tts import PiperSpeaker, load_piper_voice

        voice = str(cfg.resolve_path(t.voice)) if t.voice else ""
        return PiperSpeaker(load_piper_voice(voice, t.threads, t.length_scale), t.output_device,
                            wav_dir)
    return ProcessSpeaker(t.engine, t.voice, t.output_device, t.command, wav_dir)


__all__ = ["HermesSpeaker", "ProcessSpeaker", "Speaker", "TtsError", "make_speaker"]
