"""Clean request text before it reaches the model.

Speech-to-text, MQTT and typed input all arrive here: control characters and odd
whitespace are removed, the text is lowercased (the model is uncased anyway, and our
example sentences are written like speech-to-text output), and very long input is cut
to the model's window (not rejected) so one pasted page cannot cost seconds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 600  # well past the 128-token window; the tokenizer truncates the rest
# Spoken commands are short (the longest of 644 real requests has 22 words); past this
# many words the rest is rambling that would only dilute the mean-pooled embedding.
MAX_WORDS = 40
_WS = re.compile(r"\s+")
# A wake word said before the request ("hey google, ...", "olly ...", "alexa ...") is not
# part of it: it only lowers the classifier's confidence, so it is cut before encoding.
_WAKE = re.compile(
    r"^\s*(?:(?:hey|hi|ok|okay|yo)[\s,]+)?(?:google|alexa|siri|olly|ollie|cortana|mycroft|jarvis|computer"
    r"|assistant|bixby)\b[\s,.!:]*(?=\S)", re.IGNORECASE)
# Trigger words as speech-to-text or a quick typist gets them wrong: "set a remainder",
# "alram", "remidn me". Only these whole words, and only those that are no other request's
# word, are corrected (in what the model sees and what the slot parser reads).
TYPOS = {
    "remainder": "reminder", "remainders": "reminders", "reminer": "reminder", "remider": "reminder",
    "reminde": "remind", "remidn": "remind", "remnid": "remind", "rmind": "remind", "remined": "remind",
    "remaind": "remind", "alram": "alarm", "alrams": "alarms",
    "alaram": "alarm", "allarm": "alarm", "allarms": "alarms", "alarn": "alarm",
    "timmer": "timer", "timre": "timer", "tiemr": "timer", "calender": "calendar",
    "calandar": "calendar", "calander": "calendar", "scedule": "schedule", "shedule": "schedule",
}
_TYPO_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, TYPOS), key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


# "at 0945" / "at 1930": digits the encoder reads as a number, not a time; the model sees
# "at 9:45" (only what the model sees: the slot parser reads the text as said)
_HHMM = re.compile(r"\b(at|for|by|from|until|till|before|after) ([01]?\d|2[0-3])([0-5]\d)\b(?![:.]?\d)")


def fix_words(text: str) -> str:
    """Cut a leading wake word and correct the known trigger-word typos."""
    text = _WAKE.sub("", text, count=1)
    return _TYPO_RE.sub(lambda m: TYPOS[m.group(1).lower()], text)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True)
class Cleaned:
    text: str  # what the model sees: lowercased, at most MAX_WORDS words / MAX_CHARS chars
    full: str  # cleaned but neither lowercased nor truncated: what the slot parser sees
    truncated: bool
    letters: int  # letters of any script
    latin_letters: int  # a-z after folding accents


def clean(text: str, max_chars: int = MAX_CHARS, max_words: int = MAX_WORDS) -> Cleaned:
    """Strip control/format characters, unify quotes, collapse whitespace, lowercase, truncate."""
    if not isinstance(text, str):
        text = str(text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    full = fix_words(_WS.sub(" ", text).strip())
    text = _HHMM.sub(lambda m: f"{m.group(1)} {int(m.group(2))}:{m.group(3)}", full.lower())
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
    words = text.split(" ")
    if len(words) > max_words:
        truncated = True
        text = " ".join(words[:max_words])
    letters = sum(1 for c in text if c.isalpha())
    latin = sum(1 for c in unicodedata.normalize("NFKD", text) if "a" <= c <= "z")
    return Cleaned(text, full, truncated, letters, latin)


def looks_english(c: Cleaned) -> bool:
    """Enough Latin letters to be worth classifying; other scripts are out of scope."""
    return c.latin_letters >= 2 and c.latin_letters >= 0.7 * c.letters


__all__ = ["MAX_CHARS", "Cleaned", "clean", "fix_words", "looks_english"]
