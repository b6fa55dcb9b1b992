"""Voice-activity detection: cut a stream of 16 kHz PCM into utterances with webrtcvad.

Why: the speech engines cost ~0.3-0.8 s per call whatever the length, so they must only see
audio that holds speech, one utterance at a time. webrtcvad is tiny (microseconds per frame)
and works on 10/20/30 ms frames; an utterance starts when most of the last 300 ms is voiced
and ends after `silence_s` of non-speech or at `max_utterance_s`.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import numpy as np
import webrtcvad

from assistant.speech.audio import RATE, SAMPLE_BYTES

FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * SAMPLE_BYTES  # 960
PAD_FRAMES = 10  # 300 ms of audio kept before the start is detected
START_RATIO = 0.6  # share of voiced frames in the pad window that starts an utterance
MIN_VOICED_FRAMES = 8  # ~0.25 s of speech: shorter bursts (clicks, taps) are dropped
# Once an utterance runs, a frame only counts as its speech when it is within this many dB of the
# utterance's loudest (smoothed) frame: the speaker near the microphone is louder than a TV or a
# party behind, which webrtcvad also calls speech and which would otherwise never let it end.
RELATIVE_DB = 12.0


class Segmenter:
    """Streaming utterance segmenter; feed() any amount of PCM, get finished utterances back."""

    def __init__(self, aggressiveness: int = 2, silence_s: float = 0.8,
                 max_utterance_s: float = 10.0, relative_db: float = RELATIVE_DB) -> None:
        self.vad = webrtcvad.Vad(aggressiveness)
        self.floor_ratio = 10 ** (-relative_db / 10) if relative_db > 0 else 0.0
        self._peak = 0.0
        self._smooth = 0.0
        self.silence_frames = max(1, int(silence_s * 1000 / FRAME_MS))
        self.max_frames = max(PAD_FRAMES + 1, int(max_utterance_s * 1000 / FRAME_MS))
        self._buf = b""
        self._ring: collections.deque[tuple[bytes, bool]] = collections.deque(maxlen=PAD_FRAMES)
        self._utt: list[bytes] = []
        self._voiced = 0
        self._trailing = 0
        self.triggered = False
        self.last_trailing_s = 0.0  # silence after the speech in the last utterance closed

    def reset(self) -> None:
        self._buf = b""
        self._ring.clear()
        self._utt = []
        self._voiced = self._trailing = 0
        self.triggered = False
        self._peak = self._smooth = 0.0

    def feed(self, pcm: bytes) -> list[bytes]:
        """Add audio; return the utterances (s16le PCM) that ended inside it."""
        self._buf += pcm
        out: list[bytes] = []
        n = len(self._buf) - len(self._buf) % FRAME_BYTES
        for k in range(0, n, FRAME_BYTES):
            utt = self._frame(self._buf[k:k + FRAME_BYTES])
            if utt is not None:
                out.append(utt)
        self._buf = self._buf[n:]
        return out

    def flush(self) -> bytes | None:
        """End of stream: the utterance in progress, if it holds enough speech."""
        utt = self._finish() if self.triggered else None
        self.reset()
        return utt

    def _frame(self, frame: bytes) -> bytes | None:
        voiced = self.vad.is_speech(frame, RATE)
        x = np.frombuffer(frame, "<i2").astype(np.float32)
        self._smooth = 0.6 * self._smooth + 0.4 * float(np.dot(x, x)) / len(x)
        if self.triggered:
            self._peak = max(self._peak, self._smooth)
            voiced = voiced and self._smooth >= self._peak * self.floor_ratio
        if not self.triggered:
            self._ring.append((frame, voiced))
            if sum(v for _, v in self._ring) >= START_RATIO * PAD_FRAMES:
                self._peak = self._smooth
                self.triggered = True
                self._utt = [f for f, _ in self._ring]
                self._voiced = sum(v for _, v in self._ring)
                self._trailing = 0
                self._ring.clear()
            return None
        self._utt.append(frame)
        if voiced:
            self._voiced += 1
            self._trailing = 0
        else:
            self._trailing += 1
        if self._trailing >= self.silence_frames or len(self._utt) >= self.max_frames:
            return self._finish()
        return None

    def _finish(self) -> bytes | None:
        # Keep ~300 ms of the trailing silence: engines like a little context at the end.
        keep = len(self._utt) - max(0, self._trailing - PAD_FRAMES)
        self.last_trailing_s = self._trailing * FRAME_MS / 1000
        utt = b"".join(self._utt[:keep]) if self._voiced >= MIN_VOICED_FRAMES else None
        self.triggered = False
        self._utt = []
        self._voiced = self._trailing = 0
        return utt


def segments(pcm: bytes, aggressiveness: int = 2, silence_s: float = 0.8,
             max_utterance_s: float = 10.0) -> Iterator[bytes]:
    """All utterances in a finished recording."""
    seg = Segmenter(aggressiveness, silence_s, max_utterance_s)
    for k in range(0, len(pcm), 32000):
        yield from seg.feed(pcm[k:k + 32000])
    last = seg.flush()
    if last is not None:
        yield last


def voiced_frames(pcm: bytes, aggressiveness: int = 2, stop_at: int | None = None) -> int:
    """How many 30 ms frames webrtcvad calls speech (stops counting at `stop_at`)."""
    vad = webrtcvad.Vad(aggressiveness)
    count = 0
    for k in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
        if vad.is_speech(pcm[k:k + FRAME_BYTES], RATE):
            count += 1
            if stop_at is not None and count >= stop_at:
                break
    return count


def has_speech(pcm: bytes, aggressiveness: int = 1) -> bool:
    """True when at least ~0.25 s of the audio is voiced (silence and clicks are not)."""
    return voiced_frames(pcm, aggressiveness, stop_at=MIN_VOICED_FRAMES) >= MIN_VOICED_FRAMES


__all__ = ["FRAME_BYTES", "Segmenter", "has_speech", "segments", "voiced_frames"]
