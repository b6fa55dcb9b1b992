"""Sentence templates (HA format, hassil) and text cleaning: pure functions, no model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.nlu.normalize import clean, looks_english
from assistant.nlu.sentences import TemplateError, expand, read_files
from assistant.nlu.training import sentence_files, split_rows, training_rows
from tests.fixtures.skills import builtin_registry

INTENTS = {
    "reminder.create", "reminder.list", "reminder.cancel", "alarm.create", "alarm.list",
    "alarm.cancel", "timer.start", "timer.cancel", "timer.query", "calendar.create",
    "calendar.list", "calendar.cancel", "time.query", "date.query", "out_of_scope",
}


def test_alternatives_optionals_and_slots_expand() -> None:
    out = expand("(set | start) a timer [please] for {d}", {"d": ["ten minutes", "5 min"]})
    assert sorted(out) == sorted([
        "set a timer please for ten minutes", "set a timer please for 5 min",
        "set a timer for ten minutes", "set a timer for 5 min",
        "start a timer please for ten minutes", "start a timer please for 5 min",
        "start a timer for ten minutes", "start a timer for 5 min",
    ])


def test_nested_and_glued_optional() -> None:
    assert sorted(expand("alarm[s] ((at | by) six | now)", {})) == sorted(
        ["alarm at six", "alarm by six", "alarm now", "alarms at six", "alarms by six", "alarms now"])


def test_large_template_is_sampled_deterministically() -> None:
    vals = {"a": [f"a{i}" for i in range(30)], "b": [f"b{i}" for i in range(30)]}
    one = expand("{a} and {b}", vals, limit=25)
    assert len(one) == 25 and len(set(one)) == 25
    assert one == expand("{a} and {b}", vals, limit=25)


@pytest.mark.parametrize("bad", ["(a | b", "a ] b", "{nothing}"])
def test_malformed_templates_are_rejected(bad: str) -> None:
    with pytest.raises(TemplateError):
        expand(bad, {}, where="f.txt:3")


def test_sentence_files_parse_and_use_contract_intents(tmp_path: Path) -> None:
    rows = training_rows()
    intents = {r[1] for r in rows}
    assert INTENTS <= intents, INTENTS - intents
    # every other intent is one a loaded skill declares: the registry is the allow-list
    registry = builtin_registry()
    assert intents - INTENTS <= set(registry.intents), intents - INTENTS - set(registry.intents)
    assert len(rows) > 3000
    train, held = split_rows(rows)
    assert held and train
    assert not {r[2] for r in train} & {r[2] for r in held}  # split by template line
    folders = [p.parent.name for p in sentence_files()]
    for skill in ("reminders", "alarms", "timers", "calendar", "clock", "shopping_list"):
        assert skill in folders


def test_sentence_files_are_home_assistant_format() -> None:
    """HA's own reader (hassil.Intents) loads every skill's file."""
    from hassil import Intents

    for path in builtin_registry().sentence_files():
        with open(path, encoding="utf-8") as fh:
            assert Intents.from_yaml(fh).intents, path


def test_bad_sentence_file_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("language: en\nintents:\n  x.y:\n    data:\n      - sentences: [\"(a | b\"]\n")
    with pytest.raises(TemplateError, match="bad.yaml"):
        from assistant.nlu.sentences import expand_set

        expand_set(read_files([f], lists_file=None))
    f.write_text("intents: [1, 2]\n")
    with pytest.raises(TemplateError, match="bad.yaml"):
        read_files([f], lists_file=None)


def test_clean_strips_controls_and_truncates() -> None:
    c = clean("  Set\x00 a\ttimer\u200b for\r\nTEN minutes\x1b[0m ")
    assert c.text == "set a timer for ten minutes [0m"
    long = clean("remind me " * 1000)
    assert long.truncated and len(long.text.split()) == 40
    assert not looks_english(clean("今日は何曜日ですか"))
    assert not looks_english(clean("🎉🎉🎉"))
    assert looks_english(clean("wie spät ist es"))  # Latin script: left to the classifier
