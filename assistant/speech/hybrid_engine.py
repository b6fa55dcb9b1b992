"""Two-stage speech-to-text: the closed vocabulary first, Whisper only for open-ended requests.

Why: on a Pi-class box Whisper costs most of a second per command, while pocketsphinx with an
LM built from the skills' sentences decodes a command in a few tens of ms and is exact on
command words (timers, alarms, the time). Only when its hypothesis holds a word it knows from
free-form slot values (a reminder's subject, an event, a name) does the utterance go through
Whisper, which can spell what the closed vocabulary cannot. `last_engine` says which one spoke.
"""

from __future__ import annotations

import re

from assistant.config import Config
from assistant.speech.pocketsphinx_engine import PocketSphinxSTT
from assistant.speech.stt import SpeechToText
from assistant.speech.vocabulary import command_sentences, free_form_anchors
from assistant.speech.whisper_engine import WhisperSTT


class HybridSTT(SpeechToText):
    name = "hybrid"

    def __init__(self, closed: PocketSphinxSTT, open_: WhisperSTT, vad_aggressiveness: int = 1) -> None:
        super().__init__(vad_aggressiveness)
        self.closed = closed
        self.open = open_
        self.anchors = free_form_anchors()
        self.last_engine = ""
        self.open_calls = 0

    @classmethod
    def from_config(cls, cfg: Config, phrases: list[str] | None = None) -> HybridSTT:
        closed = PocketSphinxSTT(phrases or command_sentences(), cfg.speech.vad_aggressiveness)
        return cls(closed, WhisperSTT.from_config(cfg), cfg.speech.vad_aggressiveness)

    def needs_open(self, text: str) -> bool:
        """True when the closed hypothesis looks open-ended (holds a free-form slot word)."""
        return any(w in self.anchors for w in re.findall(r"[a-z']+", text.lower()))

    def _transcribe(self, pcm: bytes) -> str:
        text = self.closed._transcribe(pcm)
        if text and not self.needs_open(text):
            self.last_engine = "pocketsphinx"
            return text
        self.last_engine = "whisper"
        self.open_calls += 1
        return self.open._transcribe(pcm)

    def close(self) -> None:
        self.closed.close()
        self.open.close()
