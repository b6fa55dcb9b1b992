"""Number words -> integers, because speech-to-text writes "five thirty" and "twenty first".

`group_number_words` turns a run of words into separate numbers the way a listener
hears them: "nine fifty nine" is 9 then 59 (a unit never absorbs a following tens
word), "twenty two" is 22, "two thousand and thirty two" is 2032.
"""

from __future__ import annotations

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000}
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9,
}
ORDINAL_TEENS = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}
ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}

CARDINAL_WORDS = {**UNITS, **TEENS, **TENS, **SCALES}
ORDINAL_WORDS = {**ORDINAL_UNITS, **ORDINAL_TEENS, **ORDINAL_TENS}


def is_number_word(word: str) -> bool:
    return word in CARDINAL_WORDS or word in ORDINAL_WORDS


def group_number_words(words: list[str]) -> list[tuple[int, int, int, bool]]:
    """Split a run of number words into numbers: (value, first_index, last_index, is_ordinal).

    Every word must satisfy `is_number_word`, except "and" directly after a scale word.
    """
    out: list[tuple[int, int, int, bool]] = []
    total = 0  # completed thousands
    part = 0  # below one thousand
    start = -1
    last = ""  # kind of the previous word: unit, teen, tens, scale
    i = 0

    def flush(end: int, ordinal: bool = False) -> None:
        nonlocal total, part, start, last
        if start >= 0:
            out.append((total + part, start, end, ordinal))
        total = part = 0
        start = -1
        last = ""

    while i < len(words):
        w = words[i]
        if w == "and":
            if last == "scale" and i + 1 < len(words) and is_number_word(words[i + 1]):
                i += 1
                continue
            flush(i - 1)
            i += 1
            continue
        if w in UNITS or w in ORDINAL_UNITS:
            v = UNITS.get(w, ORDINAL_UNITS.get(w, 0))
            if start >= 0 and last in ("tens", "scale"):
                part += v
            else:
                flush(i - 1)
                start, part = i, v
            if w in ORDINAL_UNITS:
                flush(i, ordinal=True)
            else:
                last = "unit"
        elif w in TEENS or w in ORDINAL_TEENS:
            v = TEENS.get(w, ORDINAL_TEENS.get(w, 0))
            if start >= 0 and last == "scale":
                part += v
            else:
                flush(i - 1)
                start, part = i, v
            if w in ORDINAL_TEENS:
                flush(i, ordinal=True)
            else:
                last = "teen"
        elif w in TENS or w in ORDINAL_TENS:
            v = TENS.get(w, ORDINAL_TENS.get(w, 0))
            if start >= 0 and last == "scale":
                part += v
            else:
                flush(i - 1)
                start, part = i, v
            if w in ORDINAL_TENS:
                flush(i, ordinal=True)
            else:
                last = "tens"
        elif w in SCALES:
            if start < 0:
                start, part = i, 1
            if w == "hundred":
                part = (part or 1) * 100
            else:
                total += (part or 1) * 1000
                part = 0
            last = "scale"
        i += 1
    flush(len(words) - 1)
    return out
