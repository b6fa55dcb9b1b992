"""Number words and normalization: the speech-to-text spellings the grammar relies on."""

from __future__ import annotations

import pytest

from assistant.timeparse.numbers import group_number_words
from assistant.timeparse.text import normalize


@pytest.mark.parametrize("words,values", [
    ("nine fifty nine", [9, 59]),
    ("twenty two", [22]),
    ("five thirty", [5, 30]),
    ("two thousand and thirty two", [2032]),
    ("one hundred twenty", [120]),
    ("twenty first", [21]),
    ("ninety", [90]),
])
def test_number_words_group_like_a_listener_hears_them(words: str, values: list[int]) -> None:
    assert [v for v, *_ in group_number_words(words.split())] == values


@pytest.mark.parametrize("text,canonical", [
    ("Five thirty P.M.", "5 30 pm"),
    ("five p m", "5 pm"),
    ("7.30 tomorrow morning.", "7.30 tomorrow morning"),
    ("the twenty second", "the 22th"),
    ("thirty second timer", "30 sec timer"),
    ("second of Aug", "2th of aug"),
    ("one second", "1 sec"),
    ("at seven o'clock", "at 7 oclock"),
    ("Monday, Feb 18", "mon feb 18"),
    ("tmrw at 8:45a", "tomorrow at 8:45 am"),
    ("in a couple of minutes", "in 2 min"),
    ("around 1030", "at 1030"),
    ("every mondays", "every mons"),
    ("seven oh five", "7 05"),
])
def test_normalize_canonical_form(text: str, canonical: str) -> None:
    assert normalize(text).norm == canonical


def test_normalize_maps_back_to_original_words() -> None:
    t = normalize("Remind me to call Mom at five thirty")
    start = t.norm.index("5 30")
    first, last = t.words_of(start, start + len("5 30"))
    assert t.words[first:last + 1] == ["five", "thirty"]
    assert t.words[3:5] == ["call", "Mom"]
