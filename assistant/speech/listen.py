"""`assistant listen --wav FILE`: the microphone path over a recording, one result per command.

Why: tests, the bench and users checking a recording of their own room all need to see what
the device would have done with that audio. The file is streamed in blocks through the same
`VoicePath` the microphone uses (wake word -> VAD -> speech-to-text), each command through the
same pipeline (`Assistant.handle`: understanding, skill, store), and the timings are put on the
file's clock: `replied_at_s` is when the reply text would have been ready had the audio been
live (the VAD's close + speech-to-text + understanding and skill, measured here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.speech.audio import iter_wav
from assistant.speech.stt import SpeechToText, make_recognizer
from assistant.speech.vocabulary import speech_phrases
from assistant.speech.voicepath import Heard, VoicePath
from assistant.speech.wakeword import WakeDetector, make_wake_detector

BLOCK_S = 0.5  # audio handed over per step, like a microphone's buffer


def listen_file(cfg: Config, path: str | Path, handle: Callable[[str], Any],
                emit: Callable[[dict[str, Any]], None], *, stt: SpeechToText | None = None,
                wake: WakeDetector | None | bool = True, timings: bool = False) -> int:
    """Run `path` through the voice path; `handle(text)` returns a Reply (intent, slots,
    speech); `emit(result)` gets one dict per handled command. Returns how many there were.
    `stt`/`wake` may be given preloaded (benches); `wake=True` builds the configured one.
    `timings` adds `closed_at_s` (VAD closed the utterance) and `compute_s` (benches)."""
    stt = stt or make_recognizer(cfg, phrases=speech_phrases(cfg.speech.engine))
    detector = make_wake_detector(cfg) if wake is True else (wake or None)
    if detector is not None:
        detector.reset()
    count = 0

    def on_heard(heard: Heard) -> None:
        nonlocal count
        t0 = time.perf_counter()
        reply = handle(heard.text)
        compute = heard.stt_s + (time.perf_counter() - t0)
        count += 1
        out = {"wake_word": heard.wake_word, "wake_at_s": heard.wake_at_s, "heard": heard.text,
               "intent": reply.intent, "slots": reply.slots, "speech": reply.speech,
               "end_of_speech_s": heard.end_of_speech_s,
               "replied_at_s": round(heard.closed_at_s + compute, 3)}
        if timings:
            out.update(closed_at_s=heard.closed_at_s, compute_s=round(compute, 4))
        emit(out)

    path_ = VoicePath(cfg, stt, detector, on_heard)
    for block in iter_wav(path, 10.0):
        step = int(BLOCK_S * 32000)
        for k in range(0, len(block), step):
            path_.feed(block[k:k + step])
    path_.flush()
    return count


__all__ = ["listen_file"]
