"""Wake word: pocketsphinx keyphrase spotting on each utterance, plus push-to-talk.

Why pocketsphinx: keyphrase search with the wheel's own English model costs a few % of one core
and needs no training or download; the big engine (Whisper) then only runs on audio that was
addressed to the assistant. The spotter also says where the phrase ends, so the command after
"hey assistant, ..." is transcribed without the wake word in it.
"""

from __future__ import annotations

import logging
import re
import threading

from assistant.speech.stt import SpeechError

log = logging.getLogger("assistant.speech")

CHUNK = 4096
BYTES_PER_FRAME = 320  # pocketsphinx frames are 10 ms at 16 kHz s16


class WakeWord:
    """Finds a configured phrase ("hey assistant") in an utterance."""

    def __init__(self, phrase: str, threshold: float = 1e-20) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise SpeechError("the wake word needs pocketsphinx: `pip install pocketsphinx`, "
                              "or set [speech] wake_word = \"\"") from None
        self.phrase = " ".join(phrase.lower().split())
        probe = Decoder(samprate=16000, loglevel="FATAL")
        missing = [w for w in self.phrase.split() if probe.lookup_word(w) is None]
        if missing:
            raise SpeechError(f"[speech] wake_word {phrase!r}: words not in the English "
                              f"dictionary: {', '.join(missing)}; choose other words")
        del probe
        self.decoder = Decoder(samprate=16000, keyphrase=self.phrase, kws_threshold=threshold,
                               loglevel="FATAL")
        self._lock = threading.Lock()

    def find(self, pcm: bytes) -> int | None:
        """Byte offset just after the wake phrase in `pcm`, or None when it is not there."""
        with self._lock:
            d = self.decoder
            d.start_utt()
            end: int | None = None
            for k in range(0, len(pcm), CHUNK):
                d.process_raw(pcm[k:k + CHUNK], full_utt=False)
                if d.hyp() is not None:
                    frames = [s.end_frame for s in d.seg()]
                    end = (max(frames) + 1) * BYTES_PER_FRAME if frames else k + CHUNK
                    break
            d.end_utt()
        return None if end is None else min(end, len(pcm))


def strip_wake_text(text: str, phrase: str) -> str:
    """Drop a wake phrase the speech engine transcribed anyway ("Pay assistant, set a timer")."""
    if not phrase:
        return text
    last = phrase.lower().split()[-1]
    words = text.split()
    for i, w in enumerate(words[:len(phrase.split()) + 1]):
        if re.sub(r"\W", "", w.lower()) == last:
            return " ".join(words[i + 1:])
    return text


__all__ = ["WakeWord", "strip_wake_text"]
