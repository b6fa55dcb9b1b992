"""The skills' sentences as a speech vocabulary: closed-vocabulary recognition and its limits.

Why here: a closed-vocabulary recognizer (pocketsphinx with an LM built from the sentences) is
5-10x cheaper than Whisper and exact on command words, but cannot spell a free-form subject
("remind me to pick up the dry cleaning"). This module is the one place that reads the skills'
sentences for speech, so it can follow the sentence registry when that moves.
"""

from __future__ import annotations

import re
from functools import lru_cache

FREE_FORM_SLOTS = ("subject", "event", "person", "label", "alarmlabel")
PER_TEMPLATE = 30


@lru_cache(maxsize=4)
def _rows(limit: int) -> tuple[tuple[str, str, str], ...]:
    from assistant.nlu.sentences import expand_set, read_files
    from assistant.nlu.training import OOS_FILE, sentence_files

    files = [f for f in sentence_files() if f != OOS_FILE]
    return tuple(expand_set(read_files(files), limit=limit))


def command_sentences(limit: int = PER_TEMPLATE) -> list[str]:
    """Every skill's example sentences, expanded (lower case, numbers as words)."""
    return [s for s, _intent, _src in _rows(limit)]


@lru_cache(maxsize=1)
def free_form_anchors() -> frozenset[str]:
    """Words the closed vocabulary only knows from free-form slot values ({subject}, {event},
    ...): when it hears one, the person said something open-ended (it maps unknown subjects
    onto these), so the request goes to the open-vocabulary engine."""
    from assistant.nlu.sentences import read_files
    from assistant.nlu.training import OOS_FILE, sentence_files

    sset = read_files([f for f in sentence_files() if f != OOS_FILE])

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z']+", text.lower()))

    fixed: set[str] = set()
    for t in sset.templates:
        fixed |= words(re.sub(r"\{[a-z_]+\}", " ", t.text))
    free: set[str] = set()
    for name, values in sset.values.items():
        target = free if name in FREE_FORM_SLOTS else fixed
        for v in values:
            target |= words(v)
    return frozenset(free - fixed)


def intent_examples() -> list[str]:
    """One typical example sentence per intent, about seven words (a prompt for Whisper)."""
    best: dict[str, str] = {}

    def fit(s: str) -> int:
        return abs(len(s.split()) - 7)

    for sentence, intent, _src in _rows(PER_TEMPLATE):
        if intent not in best or fit(sentence) < fit(best[intent]):
            best[intent] = sentence
    return list(best.values())


def speech_phrases(engine: str) -> list[str] | None:
    """The sentences an engine's language model is built from (None: its general model)."""
    return command_sentences() if engine in ("pocketsphinx", "hybrid") else None


__all__ = ["FREE_FORM_SLOTS", "command_sentences", "free_form_anchors", "intent_examples",
           "speech_phrases"]
