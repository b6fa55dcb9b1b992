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
    "nite": "night", "tonights": "tonight", "week's": "week", "weeks'": "week",
}
# Words that add nothing to a time expression: dropped from the canonical string but
# still covered when they sit inside a matched span ("at about 3pm", "late evening").
FILLERS = {"about", "around", "approximately", "roughly", "exactly", "sharp", "late", "early", "precisely",
           "single"}

_AMPM_DOTS = re.compile(r"\b([ap])\.\s?m\b\.?", re.IGNORECASE)
_NUM_SUFFIX = re.compile(r"^(-?\d+(?:[./:]\d+)*)([a-z]+)$")
_MONTH_NUM_TOKEN = re.compile(r"^([a-z]{3,9})(\d{1,2})$")  # "feb13"
_IN_THE_AMPM = re.compile(r"\bin the ([ap])\.?m\b\.?", re.IGNORECASE)
_AT_SIGN = re.compile(r"@\s*")
_AMPM_RANGE = re.compile(r"(?<=\d[ap]m)\s*-\s*(?=\d)", re.IGNORECASE)
_COUNT_WORDS = {("a", "couple", "of"): "2", ("a", "couple"): "2", ("couple", "of"): "2",
                ("a", "pair", "of"): "2", ("a", "few"): "3", ("few",): "3"}
_ORD_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_STRIP = ".,!?;:\"'()[]{}“”‘’…"
# "twenty-minute", "a 15-minute timer": a hyphen between a word or number and a word splits
_SPLIT = re.compile(r"[\s,;!?]+|(?<=[a-z0-9])-(?=[a-z])")


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
    if w.endswith("'s") and w[:-2] in WEEKDAYS:
        return WEEKDAYS[w[:-2]] + "'s"  # "monday's": a date that stays in the subject
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
        if suf == "ish":
            return num
        if suf in MONTHS:
            return f"{num} {MONTHS[suf]}"
    m = re.match(r"^(\d{1,2})h(\d{2})$", w)  # "1h30"
    if m:
        return f"{int(m.group(1))} hour {m.group(2)}"
    m = _MONTH_NUM_TOKEN.match(w)
    if m and m.group(1) in MONTHS:
        return f"{MONTHS[m.group(1)]} {int(m.group(2))}"
    m = re.match(r"^([a-z]{3,9})[/.-](\d{1,2})$", w)  # "oct/2", "oct-2", "oct.23"
    if m and m.group(1) in MONTHS:
        return f"{MONTHS[m.group(1)]}/{m.group(2)}"
    return w


def normalize(text: str) -> Text:
    """Tokenize and canonicalize `text` (any case, punctuation, digits or number words)."""
    text = _AMPM_DOTS.sub(lambda m: m.group(1) + "m", text)
    text = _IN_THE_AMPM.sub(lambda m: m.group(1) + "m", text)
    text = _AT_SIGN.sub("at ", text)
    text = _AMPM_RANGE.sub(" to ", text)  # "10am-12pm"
    raw = [w for w in _SPLIT.split(text) if w]
    words: list[str] = []
    for w in raw:
        s = w.strip(_STRIP)
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
        counted = _count_word(low, i)
        if counted:
            value, used = counted
            pieces.append((value, i, i + used - 1))
            i += used
            continue
        if w in FILLERS:
            # "around 1030" reads as "at 1030"; otherwise the word adds nothing
            nxt = low[i + 1] if i + 1 < n else ""
            prev = pieces[-1][0] if pieces else ""
            as_at = (nxt[:1].isdigit() or is_number_word(nxt)) and prev not in (
                "at", "in", "for", "within", "after", "by") and not prev[:1].isdigit()
            pieces.append(("at" if as_at else "", i, i))
            i += 1
            continue
        if w == "right" and i + 1 < n and low[i + 1] == "now":
            pieces.append(("now", i, i + 1))
            i += 2
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


def _count_word(low: list[str], i: int) -> tuple[str, int] | None:
    """'a couple of' -> 2, 'a few' -> 3 (when a number or unit follows)."""
    for words, value in _COUNT_WORDS.items():
        k = len(words)
        if tuple(low[i:i + k]) == words and i + k < len(low):
            nxt = low[i + k]
            if nxt in UNITS or nxt in WEEKDAYS or nxt.rstrip("s") in WEEKDAYS or nxt == "more":
                return value, k
    return None


def _second_is_unit(low: list[str], i: int, pieces: list[tuple[str, int, int]]) -> bool:
    """'second' alone: a unit after a number or "a" ("one second", "a second"), else an ordinal."""
    prev = low[i - 1] if i > 0 else ""
    if prev in ("a", "an", "one", "per", "each", "half", "quarter"):
        return prev != "each"
    return bool(pieces and pieces[-1][0].replace(".", "", 1).isdigit())


def _second_after_number(low: list[str], i: int, j: int) -> bool:
    """'thirty second': a unit unless introduced as a day ("the thirty ..." / month name)."""
    prev = low[i - 1] if i > 0 else ""
    nxt = low[j + 1] if j + 1 < len(low) else ""
    return not (prev in ("the", "on") or prev in MONTHS or nxt == "of" or nxt in MONTHS)
