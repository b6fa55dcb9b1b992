"""The microphone: sounddevice capture -> wake word -> VAD -> speech-to-text -> on_text.

Why a thread with its own retry loop: a device-less box, an unplugged USB microphone or a
missing PortAudio must never stop the daemon from serving MQTT and firing reminders. Capture
runs in PortAudio's callback (which only queues audio); a worker thread does the segmenting
and the recognition, so a 0.8 s Whisper call never makes the audio buffer overflow. Any
device problem is logged once, as one line, and retried every `retry_s` seconds.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.config import Config
from assistant.speech.audio import RATE, float_to_pcm, resample
from assistant.speech.stt import SpeechToText
from assistant.speech.voicepath import Heard, VoicePath
from assistant.speech.wakeword import WakeDetector, make_wake_detector, wake_words

log = logging.getLogger("assistant.speech")

STALL_S = 3.0  # a stream that delivers nothing for this long is treated as gone


class DeviceError(RuntimeError):
    """No usable microphone; the message says what to check."""


def open_sounddevice() -> Any:
    """Import sounddevice (which starts PortAudio), or a DeviceError that says what to install."""
    alsa_conf = os.environ.get("ALSA_CONFIG_PATH")
    if alsa_conf and not os.path.isfile(alsa_conf):  # alsa-lib aborts the process on this
        raise DeviceError(f"ALSA_CONFIG_PATH={alsa_conf} does not exist; unset it or fix the path")
    try:
        import sounddevice as sd
    except OSError as exc:
        raise DeviceError(f"PortAudio not available ({exc}): sudo apt-get install libportaudio2") from None
    return sd


def find_input(sd: Any, device: str) -> tuple[int | str | None, str, int]:
    """The configured input device: (value for sounddevice, its name, default rate)."""
    spec: int | str | None = int(device) if device.strip().isdigit() else (device or None)
    try:
        info = sd.query_devices(spec, kind="input")
    except Exception as exc:  # noqa: BLE001
        what = f"matching {device!r} " if device else ""
        raise DeviceError(f"no audio input device {what}found ({str(exc).splitlines()[0]}); "
                          "check `arecord -l` / `python -m sounddevice`, or set "
                          "[speech] enabled = false") from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise DeviceError(f"audio device {info.get('name')!r} has no input channels; "
                          "set [speech] device to a microphone")
    return spec, str(info.get("name")), int(info.get("default_samplerate") or RATE)


class Listener:
    """Listens on the configured microphone and calls on_text(text, site) per command."""

    def __init__(self, cfg: Config, stt: SpeechToText, on_text: Callable[[str, str], None],
                 site: str, wake: WakeDetector | None = None) -> None:
        sp = cfg.speech
        self.cfg = cfg
        self.stt = stt
        self.on_text = on_text
        self.site = site
        self.device = sp.device
        self.rate = sp.sample_rate
        self.retry_s = float(getattr(sp, "retry_s", 10.0))
        self.wake_names = wake_words(cfg)
        self.wake = wake if wake is not None else make_wake_detector(cfg)
        self.path = VoicePath(cfg, stt, self.wake, self._heard)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""
        self.error: str | None = None  # the current device problem, for status/doctor
        self.utterances = 0
        self.dropped_blocks = 0

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="microphone", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def push_to_talk(self) -> None:
        """The next utterance is a command even without the wake word (MQTT push-to-talk)."""
        self.path.push_to_talk()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- capture ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._capture()
                if self._stop.is_set():
                    break
                raise DeviceError("the audio stream ended")
            except Exception as exc:  # noqa: BLE001 (a device problem, never fatal)
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.error = msg
                if msg != self._last_error:
                    log.error("microphone unavailable: %s; retrying every %.0f s (MQTT and "
                              "reminders keep working)", msg, self.retry_s)
                    self._last_error = msg
            self._stop.wait(self.retry_s)
            self._reinit_portaudio()

    def _reinit_portaudio(self) -> None:
        """Let PortAudio see devices plugged in since the last try."""
        sd = sys.modules.get("sounddevice")
        if sd is None:
            return  # never imported (it failed, or the config is bad): the next try imports it
        try:
            open_sounddevice()  # the same checks as the first import (bad ALSA config aborts)
            sd._terminate()
            sd._initialize()
        except Exception:  # noqa: BLE001, S110 (best effort)
            pass

    def _capture(self) -> None:
        sd = open_sounddevice()
        spec, name, default_rate = find_input(sd, self.device)
        blocks: queue.Queue[bytes] = queue.Queue(maxsize=60 * 10)  # 60 s of 100 ms blocks

        def callback(indata: Any, frames: int, _time: Any, status: Any) -> None:
            try:
                blocks.put_nowait(bytes(indata))
            except queue.Full:
                self.dropped_blocks += 1

        if self.wake is not None:
            self.wake.reset()
        stream = self._open_stream(sd, spec, name, default_rate, callback)
        with stream:
            log.info("listening on %r at %d Hz%s", name, self.rate,
                     f", wake word {' / '.join(self.wake_names)} ({self.wake.engine})"
                     if self.wake else ", always listening")
            if self._last_error:
                log.info("microphone back after: %s", self._last_error)
            self._last_error = ""
            self.error = None
            last = time.monotonic()
            while not self._stop.is_set():
                try:
                    chunk = blocks.get(timeout=0.5)
                except queue.Empty:
                    if not stream.active or time.monotonic() - last > STALL_S:
                        raise DeviceError(f"the microphone {name!r} stopped delivering audio "
                                          "(unplugged?)") from None
                    continue
                last = time.monotonic()
                self.feed(self._to_16k(chunk))

    def _open_stream(self, sd: Any, spec: int | str | None, name: str, default_rate: int,
                     callback: Callable[..., None]) -> Any:
        """A 16-bit mono stream at the configured rate, else at the device's own rate
        (many USB microphones only do 44.1/48 kHz; we resample)."""
        first_error: Exception | None = None
        for rate in dict.fromkeys([self.cfg.speech.sample_rate, default_rate]):
            try:
                stream = sd.RawInputStream(samplerate=rate, blocksize=rate // 10, device=spec,
                                           channels=1, dtype="int16", callback=callback)
            except Exception as exc:  # noqa: BLE001
                first_error = first_error or exc
                continue
            self.rate = rate
            return stream
        raise DeviceError(f"cannot open {name!r} for 16-bit mono capture: "
                          f"{str(first_error).splitlines()[0] if first_error else 'unknown error'}")

    def _to_16k(self, chunk: bytes) -> bytes:
        if self.rate == RATE:
            return chunk
        x = np.frombuffer(chunk, "<i2").astype(np.float32) / 32768.0
        return float_to_pcm(resample(x, self.rate, RATE))

    # -- the voice path (also used directly with real audio by tests and benches) ------------
    def feed(self, pcm16k: bytes) -> None:
        """Push 16 kHz mono s16le audio through wake word -> VAD -> STT -> on_text."""
        self.path.feed(pcm16k)

    def flush(self) -> None:
        self.path.flush()

    def _heard(self, heard: Heard) -> None:
        self.utterances += 1
        self.on_text(heard.text, self.site)


__all__ = ["DeviceError", "Listener", "find_input", "open_sounddevice"]
