"""Audio in the one format every engine here wants: 16 kHz, mono, signed 16-bit little-endian.

WAV files from phones, satellites and synthesizers come at 8-48 kHz, in stereo, as 8/16/24/32-bit
integers or 32-bit floats; `load_wav` reads all of these with its own RIFF parser (the stdlib
`wave` module rejects float and extensible WAVs) and converts them, so callers never meet a
format problem deeper in the pipeline. Anything it cannot read raises `AudioError` with one line
saying what is wrong.
"""

from __future__ import annotations

import io
import os
import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError

RATE = 16000  # what every engine here takes
SAMPLE_BYTES = 2

_FORMAT_PCM = 1
_FORMAT_FLOAT = 3
_FORMAT_EXTENSIBLE = 0xFFFE
_SUPPORTED = {(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)}


class AudioError(AssistantError, ValueError):
    """A WAV that cannot be used, phrased for the person who supplied it."""


def load_wav(path: str | os.PathLike[str]) -> bytes:
    """Read a WAV file and return 16 kHz mono s16le PCM (resampled and down-mixed as needed)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{p}: is a folder, expected a WAV file") from None
    except OSError as exc:
        raise AudioError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        return decode_wav(data)
    except AudioError as exc:
        raise AudioError(f"{p}: {exc}") from None


def decode_wav(data: bytes) -> bytes:
    """Decode WAV bytes (a file or a satellite's frame) to 16 kHz mono s16le PCM."""
    samples, rate = _parse_riff(data)
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if rate != RATE:
        mono = resample(mono, rate, RATE)
    return float_to_pcm(mono)


def _parse_riff(data: bytes) -> tuple[np.ndarray, int]:
    """Samples as float32 in [-1, 1], shape (frames, channels), and the sample rate."""
    if not data:
        raise AudioError("the file is empty; expected a WAV recording")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a WAV file (no RIFF/WAVE header); convert it with "
                         "`sox in.xxx -r 16000 -c 1 -b 16 out.wav`")
    fmt: tuple[int, int, int, int] | None = None
    pcm: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise AudioError("corrupt WAV: the format chunk is truncated")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            pcm = body  # a streamed WAV may claim more than is there: take what is
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise AudioError("corrupt WAV: no format chunk")
    if pcm is None:
        raise AudioError("corrupt WAV: no data chunk")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1000 or rate > 384000:
        raise AudioError(f"corrupt WAV: {channels} channels at {rate} Hz")
    if (tag, bits) not in _SUPPORTED:
        raise AudioError(f"unsupported WAV encoding (format {tag}, {bits} bits); convert it with "
                         "`sox in.wav -r 16000 -c 1 -b 16 -e signed out.wav`")
    frame = bits // 8 * channels
    x = _samples(pcm[:len(pcm) - len(pcm) % frame], tag, bits)
    if x.size == 0:
        raise AudioError("the WAV holds no audio samples")
    return x.reshape(-1, channels), rate


def _samples(raw: bytes, tag: int, bits: int) -> np.ndarray:
    """Interleaved samples of one encoding as float32 in [-1, 1]."""
    if tag == _FORMAT_PCM and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _FORMAT_PCM and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif tag == _FORMAT_PCM and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif tag == _FORMAT_PCM and bits == 32:
        x = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    elif tag == _FORMAT_FLOAT and bits == 32:
        x = np.nan_to_num(np.frombuffer(raw, "<f4").astype(np.float32))
    else:  # _FORMAT_FLOAT, 64 bits
        x = np.nan_to_num(np.frombuffer(raw, "<f8")).astype(np.float32)
    return np.clip(x, -1.0, 1.0)


def iter_wav(path: str | os.PathLike[str], block_s: float = 10.0) -> Iterator[bytes]:
    """A WAV file as 16 kHz mono s16le blocks of about `block_s` seconds: bounded memory for
    recordings of any length (a 10-minute file never sits in memory whole)."""
    p = Path(path)
    try:
        f = p.open("rb")
    except FileNotFoundError:
        raise AudioError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{p}: is a folder, expected a WAV file") from None
    except OSError as exc:
        raise AudioError(f"{p}: cannot read: {exc.strerror}") from None
    with f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise AudioError(f"{p}: " + ("the file is empty; expected a WAV recording" if not head
                             else "not a WAV file (no RIFF/WAVE header); convert it with "
                             "`sox in.xxx -r 16000 -c 1 -b 16 out.wav`"))
        fmt_body = b""
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                raise AudioError(f"{p}: corrupt WAV: no data chunk")
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"data":
                break
            body = f.read(size + (size & 1))
            if cid == b"fmt ":
                fmt_body = body[:size]
        # Validate the format with the one-shot parser on a tiny synthetic file.
        one = 0
        if len(fmt_body) >= 16:
            _, ch, _, _, _, bits = struct.unpack_from("<HHIIHH", fmt_body)
            one = max(1, bits // 8 * ch)
        probe = (b"RIFF" + struct.pack("<I", 0) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body))
                 + fmt_body + (b"\0" if len(fmt_body) & 1 else b"") + b"data"
                 + struct.pack("<I", one) + bytes(one))
        try:
            _, rate = _parse_riff(probe)
        except AudioError as exc:
            raise AudioError(f"{p}: {exc}") from None
        tag, channels, _, _, _, bits = struct.unpack_from("<HHIIHH", fmt_body)
        if tag == _FORMAT_EXTENSIBLE and len(fmt_body) >= 26:
            tag = struct.unpack_from("<H", fmt_body, 24)[0]
        frame = bits // 8 * channels
        block = max(frame, int(rate * block_s) * frame)
        remaining = size
        any_audio = False
        while remaining > 0:
            raw = f.read(min(block, remaining))
            if not raw:
                break  # a streamed WAV may claim more than is there
            remaining -= len(raw)
            raw = raw[:len(raw) - len(raw) % frame]
            if not raw:
                continue
            x = _samples(raw, tag, bits).reshape(-1, channels)
            mono = x.mean(axis=1) if channels > 1 else x[:, 0]
            any_audio = True
            yield float_to_pcm(resample(mono, rate, RATE) if rate != RATE else mono)
        if not any_audio:
            raise AudioError(f"{p}: the WAV holds no audio samples")


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling of float samples (windowed-sinc low-pass, then interpolation)."""
    if src == dst or x.size == 0:
        return x.astype(np.float32)
    x = x.astype(np.float32)
    if dst < src:
        # Low-pass at the new Nyquist so 44.1/48 kHz content above 8 kHz does not alias into speech.
        cutoff = 0.5 * dst / src * 0.95
        taps = 63
        n = np.arange(taps) - (taps - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
        h /= h.sum()
        x = np.convolve(x, h.astype(np.float32), mode="same")
    count = round(x.size * dst / src)
    t = np.arange(count, dtype=np.float64) * (src / dst)
    return np.interp(t, np.arange(x.size), x).astype(np.float32)


def float_to_pcm(x: np.ndarray) -> bytes:
    """float32 in [-1, 1] to s16le (exact inverse of pcm_to_float)."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """s16le bytes to float32 in [-1, 1] (what faster-whisper takes)."""
    usable = len(pcm) - len(pcm) % 2
    return np.frombuffer(pcm[:usable], "<i2").astype(np.float32) / 32768.0


def pcm_to_wav(pcm: bytes, rate: int = RATE) -> bytes:
    """Wrap s16le mono PCM in a WAV header (for satellites, files and players)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_BYTES)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def duration_s(pcm: bytes, rate: int = RATE) -> float:
    return len(pcm) / (SAMPLE_BYTES * rate)


__all__ = [
    "RATE",
    "AudioError",
    "decode_wav",
    "duration_s",
    "float_to_pcm",
    "iter_wav",
    "load_wav",
    "pcm_to_float",
    "pcm_to_wav",
    "resample",
]
