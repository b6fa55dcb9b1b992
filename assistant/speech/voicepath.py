"""The microphone path as a stream: wake word -> VAD -> speech-to-text -> a heard command.

Why one class for the microphone and for files: `assistant listen --wav` must behave exactly as
the microphone does, so both push audio through `VoicePath.feed`; only the clock differs. Times
are stream seconds (audio fed so far), which for a file are seconds into the file.

Flow: every 30 ms frame goes to the wake detector (cheap, always fed so its state stays
continuous). After a detection, a fresh VAD segmenter waits up to `command_wait_s` for speech
and closes the command after `silence_s` of silence; the command is transcribed and handed to
`on_heard`. Without a wake word every utterance is a command. Memory is bounded: the segmenter
holds at most `max_utterance_s` of audio, the detectors a few seconds.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from assistant.config import Config
from assistant.speech.stt import SpeechToText
from assistant.speech.vad import FRAME_BYTES, Segmenter
from assistant.speech.wakeword import WakeDetector, spoken_name, strip_wake_text

log = logging.getLogger("assistant.speech")

BYTES_PER_S = 32000


@dataclass
class Heard:
    """One command the voice path understood as text, with where it sits in the stream."""

    text: str
    wake_word: str | None  # the wake word that opened it; None: always listening / push-to-talk
    wake_at_s: float | None  # stream time the wake word was detected
    end_of_speech_s: float  # stream time the speaker stopped (VAD's last voiced frame)
    closed_at_s: float  # stream time the VAD decided the utterance was over
    stt_s: float  # wall time speech-to-text took


class VoicePath:
    """Feed 16 kHz mono s16le audio; `on_heard(Heard)` is called for each command."""

    def __init__(self, cfg: Config, stt: SpeechToText, wake: WakeDetector | None,
                 on_heard: Callable[[Heard], None]) -> None:
        sp = cfg.speech
        self.stt = stt
        self.wake = wake
        self.on_heard = on_heard
        self.command_wait_s = float(getattr(sp, "command_wait_s", 6.0))
        self.segmenter = Segmenter(sp.vad_aggressiveness, sp.silence_s, sp.max_utterance_s)
        self._buf = b""
        self._pos = 0  # bytes fed so far
        self._listening = wake is None  # capturing a command (always, without a wake word)
        self._deadline = 0  # byte position where an unanswered wake word lapses
        self._woke: tuple[str, float] | None = None
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=34)  # 1 s
        self.detections = 0
        self.commands = 0

    @property
    def now_s(self) -> float:
        return self._pos / BYTES_PER_S

    def push_to_talk(self) -> None:
        """The next utterance is a command without the wake word."""
        self._open(None)

    def feed(self, pcm: bytes) -> None:
        """Push audio of any length through the path (never raises for audio content)."""
        self._buf += pcm
        n = len(self._buf) - len(self._buf) % FRAME_BYTES
        frames, self._buf = self._buf[:n], self._buf[n:]
        for k in range(0, n, FRAME_BYTES):
            self._frame(frames[k:k + FRAME_BYTES])

    def flush(self) -> None:
        """End of the stream: a command in progress is finished."""
        if self._listening:
            utt = self.segmenter.flush()
            if utt is not None:
                self._command(utt, self._pos, 0.0)
        self._buf = b""

    def _open(self, woke: tuple[str, float] | None) -> None:
        self._listening = True
        self._woke = woke
        self._deadline = self._pos + int(self.command_wait_s * BYTES_PER_S)
        self.segmenter.reset()

    def _frame(self, frame: bytes) -> None:
        start = self._pos
        self._pos += len(frame)
        self._recent.append((start, frame))
        replay = [frame]
        if self.wake is not None:
            for det in self.wake.process(frame):
                if self._listening and self.segmenter.triggered:
                    continue  # already taking a command
                self.detections += 1
                at = start + det.end_byte
                log.info("wake word %s heard at %.2f s (score %.2f)", det.name,
                         at / BYTES_PER_S, det.score)
                self._open((det.name, at / BYTES_PER_S))
                # The command starts where the wake word ended, which may be a little earlier
                # than now (pocketsphinx reports late): hand the segmenter that audio too.
                replay = [f for s0, f in self._recent if s0 + len(f) > at]
        if not self._listening:
            return
        for piece in replay:
            for utt in self.segmenter.feed(piece):
                self._command(utt, self._pos, self.segmenter.last_trailing_s)
        if (self.wake is not None and not self.segmenter.triggered and self._listening
                and self._pos > self._deadline):
            log.info("no command after the wake word; listening for the wake word again")
            self._listening = False
            self._woke = None

    def _command(self, utt: bytes, closed_at: int, trailing_s: float) -> None:
        woke = self._woke
        if self.wake is not None:
            self._listening = False
            self._woke = None
        t0 = time.perf_counter()
        try:
            text = self.stt.transcribe(utt)
        except Exception:
            log.exception("speech-to-text failed on an utterance; skipped")
            return
        stt_s = time.perf_counter() - t0
        if woke is not None:
            text = strip_wake_text(text, spoken_name(woke[0]))
        if not text:
            return
        self.commands += 1
        closed_s = closed_at / BYTES_PER_S
        heard = Heard(text, woke[0] if woke else None, round(woke[1], 2) if woke else None,
                      round(closed_s - trailing_s, 2), closed_s, stt_s)
        try:
            self.on_heard(heard)
        except Exception:
            log.exception("handling %r failed", text)


__all__ = ["Heard", "VoicePath"]
