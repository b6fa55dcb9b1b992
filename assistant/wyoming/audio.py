"""Wyoming audio in any common format -> the 16 kHz mono s16le every engine here takes.

Wyoming audio is raw PCM described by `rate`, `width` (bytes per sample) and `channels` on
each audio-start / audio-chunk. We accept signed 16/32-bit and unsigned 8-bit integer PCM at
8-96 kHz with 1-8 channels; anything else is refused with `AudioFormatError` (the session
answers with an error event and closes). `AudioBuffer` keeps at most `max_s` seconds, so a
client that streams forever cannot grow our memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.speech.audio import RATE, float_to_pcm, resample

__all__ = ["AudioBuffer", "AudioFormat", "AudioFormatError", "to_pcm16k"]


class AudioFormatError(ValueError):
    """Audio we cannot use, phrased for the client's log."""


@dataclass(frozen=True)
class AudioFormat:
    rate: int
    width: int
    channels: int

    @classmethod
    def from_data(cls, data: dict) -> AudioFormat:
        try:
            fmt = cls(int(data["rate"]), int(data["width"]), int(data["channels"]))
        except (KeyError, TypeError, ValueError):
            raise AudioFormatError("audio event without integer rate, width and channels"
                                   ) from None
        fmt.check()
        return fmt

    def check(self) -> None:
        if self.width not in (1, 2, 4):
            raise AudioFormatError(f"unsupported sample width {self.width} bytes: send 16-bit "
                                   "PCM (width 2), or 8/32-bit")
        if not 8000 <= self.rate <= 96000:
            raise AudioFormatError(f"unsupported sample rate {self.rate} Hz: expected "
                                   "8000-96000 (16000 is cheapest)")
        if not 1 <= self.channels <= 8:
            raise AudioFormatError(f"unsupported channel count {self.channels}: expected 1-8")

    @property
    def bytes_per_s(self) -> int:
        return self.rate * self.width * self.channels


def to_pcm16k(audio: bytes, fmt: AudioFormat) -> bytes:
    """Raw PCM in `fmt` -> 16 kHz mono s16le (down-mixed and resampled as needed)."""
    frame = fmt.width * fmt.channels
    audio = audio[:len(audio) - len(audio) % frame]
    if not audio:
        return b""
    if fmt.width == 2 and fmt.channels == 1 and fmt.rate == RATE:
        return audio
    if fmt.width == 1:
        x = (np.frombuffer(audio, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt.width == 2:
        x = np.frombuffer(audio, "<i2").astype(np.float32) / 32768.0
    else:
        x = (np.frombuffer(audio, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    if fmt.channels > 1:
        x = x.reshape(-1, fmt.channels).mean(axis=1)
    return float_to_pcm(resample(x, fmt.rate, RATE))


class AudioBuffer:
    """Incoming chunks of one stream, converted to 16 kHz, at most `max_s` seconds."""

    def __init__(self, fmt: AudioFormat, max_s: float) -> None:
        self.fmt = fmt
        self.max_bytes = int(max_s * RATE * 2)
        self._parts: list[bytes] = []
        self.size = 0
        self.received_s = 0.0

    def add(self, audio: bytes, fmt: AudioFormat | None = None) -> bytes:
        """Append one chunk (its own format if it names one); returns the converted PCM."""
        fmt = fmt or self.fmt
        self.received_s += len(audio) / fmt.bytes_per_s
        pcm = to_pcm16k(audio, fmt)
        if self.size + len(pcm) > self.max_bytes:
            raise AudioFormatError(f"audio stream longer than {self.max_bytes / (RATE * 2):g} s; "
                                   "send audio-stop sooner")
        self._parts.append(pcm)
        self.size += len(pcm)
        return pcm

    def pcm(self) -> bytes:
        return b"".join(self._parts)
