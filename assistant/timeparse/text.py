"""Normalize an utterance into a canonical token string, keeping a map back to the words.

Speech-to-text and typed input spell the same thing many ways ("5 p.m.", "five p m",
"5pm", "17:00"). The grammar modules match regular expressions against one canonical
form: lowercase, number words as digits, ordinals as "<n>th", units, months and
weekdays abbreviated ("min", "mar", "tue"), "a.m." as "am". Every normalized piece
remembers which original words it came from, so the subject ("call Mom") can be cut
out of the original text with its case and spelling intact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import ORDINAL_WORDS, group_number_words, is_number_word

MONTHS = {
    "january": "jan", "jan": "jan", "february": "feb", "feb": "feb", "march": "mar",
    "mar": "mar", "april": "apr", "apr": "apr", "may": "may", "june": "jun", "jun": "jun",
    "july": "jul", "jul": "jul", "august": "aug", "aug": "aug", "september": "sep",
    "sept": "sep", "sep": "sep", "october": "oct", "oct": "oct", "november": "nov",
    "nov": "nov", "december": "dec", "dec": "dec",
}
MONTH_NUM = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
WEEKDAYS = {
    "monday": "mon", "mon": "mon", "tuesday": "tue", "tue": "tue", "tues": "tue",
    "wednesday": "wed", "wed": "wed", "thursday": "thu", "thu": "thu", "thur": "thu",
    "thurs": "thu", "friday": "fri", "fri": "fri", "saturday": "sat", "sat": "sat",
    "sunday": "sun", "sun": "sun",
}
WEEKDAY_NUM = {d: i for i, d in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])}
UNITS = {
    "s": "sec", "sec": "sec", "secs": "sec", "second": "sec", "seconds": "sec",
    "m": "min", "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day", "wk": "week", "wks": "week", "week": "week",
    "weeks": "week", "fortnight": "fortnight", "fortnights": "fortnight",
    "month": "month", "months": "month", "mo": "month", "yr": "year", "yrs": "year",
    "year": "year", "years": "year",
}
WORDS = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tomorow": "tomorrow",
    "tommorow": "tomorrow", "tommorrow": "tomorrow", "2morrow": "tomorrow", "tonite": "tonight",
    "o'clock": "oclock", "oclock": "oclock", "midday": "noon", "everyday": "every day",
    "weekday": "weekday", "weekdays": "weekdays", "weekend": "weekend", "weekends": "weekends",
    "til": "until", "till": "until", "untill": "until", "thru": "through",
    "a.m": "am", "p.m": "pm", "a.m.": "am", "p.m.": "pm", "an": "a",
    "nite": "night", "tonights": "tonight",
}
# Words that add nothing to a time expression: dropped from the canonical string but
# still covered when they sit inside a matched span ("at about 3pm", "late evening").
FILLERS = {"about", "around", "approximately", "roughly", "exactly", "sharp", "late", "early", "precisely"}

_AMPM_DOTS = re.compile(r"\b([ap])\.\s?m\b\.?", re.I)
_NUM_SUFFIX = re.compile(r"^(-?\d+(?:[.:]\d+)?)([a-z]+)$")
_ORD_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_STRIP = ".,!?;:\"'()[]{}“”‘’…"
_SPLIT = re.compile(r"[\s,;!?]+|(?<=[a-z])-(?=[a-z])")


@dataclass
class Text:
    """Original words, the canonical string, and for each canonical char the word index."""

    words: list[str]  # original words, surrounding punctuation stripped
    norm: str
    owner: list[int]  # owner[c] = index into words for norm[c] (-1 for joining spaces)

    def words_of(self, start: int, end: int) -> tuple[int, int]:
        """The (first, last) word indexes a canonical char span [start, end) covers."""
        idx = [self.owner[c] for c in range(start, end) if self.owner[c] >= 0]
        return (min(idx), max(idx)) if idx else (-1, -1)


def _norm_word(w: str) -> str:
    if w in WORDS:
        return WORDS[w]
    if w in MONTHS:
        return MONTHS[w]
    if w in WEEKDAYS:
        return WEEKDAYS[w]
    if w.endswith("s") and w[:-1] in WEEKDAYS and len(w) > 4:
        return WEEKDAYS[w[:-1]] + "s"  # "mondays" -> "mons": a repeat cue
    if w in UNITS and len(w) > 1:
        return UNITS[w]
    m = _ORD_DIGITS.match(w)
    if m:
        return f"{int(m.group(1))}th"
    m = _NUM_SUFFIX.match(w)
    if m:
        num, suf = m.groups()
        if suf in ("am", "a"):
            return f"{num} am"
        if suf in ("pm", "p"):
            return f"{num} pm"
        if suf in UNITS:
            return f"{num} {UNITS[suf]}"
        if suf in ("ampm",):
            return num
    m = re.match(r"^([a-z]{3,9})/(\d{1,2})$", w)  # "oct/2"
    if m and m.group(1) in MONTHS:
        return f"{MONTHS[m.group(1)]}/{m.group(2)}"
    return w


def normalize(text: str) -> Text:
    """Tokenize and canonicalize `text` (any case, punctuation, digits or number words)."""
    text = _AMPM_DOTS.sub(lambda m: m.group(1) + "m", text)
    raw = [w for w in _SPLIT.split(text) if w]
    words: list[str] = []
    for w in raw:
        s = w.strip(_STRIP)
        if s.endswith("'s") and s[:-2].lower() in ("tonight", "today", "tomorrow"):
            s = s[:-2]
        if s:
            words.append(s)
    low = [w.lower() for w in words]
    pieces: list[tuple[str, int, int]] = []  # (canonical, first word, last word)
    i = 0
    n = len(low)
    while i < n:
        w = low[i]
        if is_number_word(w) and not (w == "second" and _second_is_unit(low, i, pieces)):
            j = i
            while j < n and (
                (is_number_word(low[j]) and not (low[j] == "second" and j > i and _second_after_number(low, i, j)))
                or (low[j] == "and" and j + 1 < n and is_number_word(low[j + 1]) and j > i
                    and low[j - 1] in ("hundred", "thousand"))
            ):
                if low[j] in ORDINAL_WORDS and j > i and low[j - 1] not in (
                    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"
                ):
                    break
                j += 1
                if low[j - 1] in ORDINAL_WORDS:
                    break
            groups = group_number_words(low[i:j])
            for value, a, b, ordinal in groups:
                pieces.append((f"{value}th" if ordinal else str(value), i + a, i + b))
            i = j
            continue
        if w in ("a", "p") and i + 1 < n and low[i + 1] == "m" and pieces and pieces[-1][0][-1:].isdigit():
            pieces.append((w + "m", i, i + 1))
            i += 2
            continue
        if w == "o" and i + 1 < n and low[i + 1] in ("clock", "'clock"):
            pieces.append(("oclock", i, i + 1))
            i += 2
            continue
        if w in ("oh", "o") and i + 1 < n and pieces and pieces[-1][0].isdigit() and low[i + 1] in (
            "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
        ):
            v = group_number_words([low[i + 1]])[0][0]
            pieces.append((f"0{v}", i, i + 1))
            i += 2
            continue
        if w in FILLERS:
            pieces.append(("", i, i))
            i += 1
            continue
        pieces.append((_norm_word(w), i, i))
        i += 1
    norm_parts: list[str] = []
    owner: list[int] = []
    for canon, a, b in pieces:
        if not canon:
            continue
        if norm_parts:
            norm_parts.append(" ")
            owner.append(-1)
        norm_parts.append(canon)
        # A multi-word piece: attribute its chars to the first word, its last char to the last.
        owner.extend([a] * (len(canon) - 1) + [b])
    return Text(words, "".join(norm_parts), owner)


def _second_is_unit(low: list[str], i: int, pieces: list[tuple[str, int, int]]) -> bool:
    """'second' alone: a unit after a number or "a" ("one second", "a second"), else an ordinal."""
    prev = low[i - 1] if i > 0 else ""
    if prev in ("a", "an", "one", "per", "each", "half", "quarter"):
        return prev != "each"
    if pieces and pieces[-1][0].replace(".", "", 1).isdigit():
        return True
    return False


def _second_after_number(low: list[str], i: int, j: int) -> bool:
    """'thirty second': a unit unless introduced as a day ("the thirty ..." / month name)."""
    prev = low[i - 1] if i > 0 else ""
    return not (prev in ("the", "on") or prev in MONTHS)
