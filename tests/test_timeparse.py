"""Time understanding, driven by tests/cases/time_cases.txt (one case per line).

The case file is meant to be read and extended by someone who does not write Python;
this module only knows how to read it. A few API-level checks follow the table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.config import Config, TimeConfig
from assistant.timeparse import (
    TimeParseError,
    TimeSettings,
    next_occurrence,
    resolve_expression,
)
from tests.fixtures.skills import extract_slots

CASES = Path(__file__).parent / "cases" / "time_cases.txt"
DEFAULT_ZONE = "Europe/Berlin"
TIMES_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "times_dev.jsonl"


def _load_cases() -> list[Any]:
    out = []
    for n, line in enumerate(CASES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        assert len(cols) == 5, f"{CASES.name}:{n}: expected 5 columns separated by "|", got {len(cols)}"
        text, intent, now, zone, expect = cols
        out.append(pytest.param(text, intent, now, zone or DEFAULT_ZONE, expect, id=f"L{n}:{text[:40]}"))
    return out


def _expectations(expect: str) -> list[tuple[str, str]]:
    if expect == "nothing":
        return [("nothing", "")]
    pairs = []
    for part in expect.split(" & "):
        key, _, value = part.partition(":")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _same_time(got: str | None, want: str) -> bool:
    """`want` is a full ISO time with offset (exact) or a local wall time 'YYYY-MM-DD HH:MM'."""
    if got is None:
        return False
    if "T" in want:
        return got == want
    dt = datetime.fromisoformat(got)
    return dt.strftime("%Y-%m-%d %H:%M" if " " in want else "%Y-%m-%d") == want


def _settings(zone: str) -> TimeSettings:
    return TimeSettings(zone=ZoneInfo(zone))


@pytest.mark.parametrize("text,intent,now,zone,expect", _load_cases())
def test_case(text: str, intent: str, now: str, zone: str, expect: str) -> None:
    settings = _settings(zone)
    moment = datetime.fromisoformat(now).replace(tzinfo=settings.zone)
    if intent == "-":
        _check_expression(text, moment, settings, expect)
        return
    result = extract_slots(text, intent, moment, settings)
    slots = result.slots
    assert set(slots) == {"subject", "when", "duration_s", "recurrence", "label"}
    for key, want in _expectations(expect):
        rec = slots["recurrence"]
        if key == "nothing":
            assert all(v is None for v in slots.values()) and result.error is None, (slots, result.error)
        elif key == "error":
            assert result.error == want, (slots, result.error)
        elif key == "when":
            if want == "-":
                assert slots["when"] is None, slots
            else:
                assert _same_time(slots["when"], want), (slots["when"], want, result.error)
        elif key == "duration":
            assert slots["duration_s"] == (None if want == "-" else int(want)), (slots, result.error)
        elif key in ("subject", "label"):
            assert slots[key] == (None if want == "-" else want), (slots, result.error)
        elif key == "rrule":
            got = rec["rrule"] if rec else None
            assert got == (None if want == "-" else want), (slots, result.error)
        elif key == "next":
            assert rec is not None, (slots, result.error)
            wants = [w.strip() for w in want.split(",")]
            assert len(rec["next"]) == 3
            assert all(_same_time(g, w) for g, w in zip(rec["next"], wants)), (rec["next"], wants)
        else:
            raise AssertionError(f"unknown expectation {key!r} in {CASES.name}")
    if result.error is None:
        _check_contract_format(slots)


def _check_expression(text: str, moment: datetime, settings: TimeSettings, expect: str) -> None:
    value = resolve_expression(text, moment, settings)
    for key, want in _expectations(expect):
        if key == "value":
            assert value.kind == "datetime", value
            assert _same_time(value.value.isoformat(), want), (value.value, want)
        elif key == "seconds":
            assert value.kind == "duration" and value.value == int(want), value
        elif key == "rrule":
            assert value.kind == "recurrence" and value.value["rrule"] == want, value
        else:
            raise AssertionError(f"unknown expectation {key!r} for an expression")


def _check_contract_format(slots: dict[str, Any]) -> None:
    """DESIGN.md: `when` is ISO with offset at seconds precision; next has 3 such times."""
    times = [slots["when"]] + (slots["recurrence"]["next"] if slots["recurrence"] else [])
    for t in times:
        if t is None:
            continue
        dt = datetime.fromisoformat(t)
        assert dt.utcoffset() is not None and dt.microsecond == 0 and len(t) == 25, t
    if slots["duration_s"] is not None:
        assert isinstance(slots["duration_s"], int)
    json.dumps(slots)


# --------------------------------------------------------------------- API-level checks

def test_case_file_covers_both_dst_zones_and_bad_input() -> None:
    text = CASES.read_text(encoding="utf-8")
    assert "America/New_York" in text and "| Europe/Berlin |" in text
    assert text.count("error:") >= 8


def test_from_config_reads_zone_and_hours() -> None:
    cfg = Config(time=TimeConfig(timezone="America/New_York", default_time="10:15", morning="07:00",
                                 afternoon="14:00", evening="18:30", night="22:00"))
    s = TimeSettings.from_config(cfg)
    assert s.zone == ZoneInfo("America/New_York")
    assert (s.default_time, s.morning, s.evening, s.night) == (time(10, 15), time(7), time(18, 30), time(22))
    now = datetime(2026, 6, 1, 12, 0, tzinfo=s.zone)
    r = extract_slots("remind me tomorrow evening to call", "reminder.create", now, s)
    assert r.slots["when"] == "2026-06-02T18:30:00-04:00"
    r = extract_slots("remind me on friday to call", "reminder.create", now, s)
    assert r.slots["when"] == "2026-06-05T10:15:00-04:00"


def test_next_occurrence_keeps_wall_clock_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 27, 7, 0, tzinfo=berlin)
    rule = "FREQ=DAILY;BYHOUR=7;BYMINUTE=0"
    got = next_occurrence(rule, start, datetime(2026, 3, 28, 8, 0, tzinfo=berlin))
    assert got == datetime(2026, 3, 29, 7, 0, tzinfo=berlin)
    assert got.utcoffset() == timedelta(hours=2)
    # `after` in another zone is compared as an instant
    after_utc = datetime(2026, 3, 29, 4, 59, tzinfo=UTC)  # 06:59 Berlin summer time
    assert next_occurrence(rule, start, after_utc) == datetime(2026, 3, 29, 7, 0, tzinfo=berlin)


def test_next_occurrence_fall_back_takes_first_and_ends_with_until() -> None:
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 10, 30, 1, 30, tzinfo=ny)
    got = next_occurrence("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", start, datetime(2026, 10, 31, 12, 0, tzinfo=ny))
    assert got is not None and got.isoformat() == "2026-11-01T01:30:00-04:00"
    until = "FREQ=DAILY;UNTIL=20261031T235959;BYHOUR=1;BYMINUTE=30"
    assert next_occurrence(until, start, datetime(2026, 10, 31, 12, 0, tzinfo=ny)) is None


def test_next_occurrence_hourly_is_elapsed_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 25, 1, 0, tzinfo=berlin)  # 01:00 CEST
    got = next_occurrence("FREQ=HOURLY", start, datetime(2026, 10, 25, 1, 30, tzinfo=berlin))
    assert got is not None and got.isoformat() == "2026-10-25T02:00:00+02:00"
    got2 = next_occurrence("FREQ=HOURLY", start, got)
    assert got2 is not None and got2.isoformat() == "2026-10-25T02:00:00+01:00"  # the repeated hour


def test_next_occurrence_needs_aware_datetimes() -> None:
    with pytest.raises(ValueError):
        next_occurrence("FREQ=DAILY", datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_resolve_expression_raises_speakable_errors() -> None:
    s = _settings("UTC")
    now = datetime(2026, 3, 24, 12, 0, tzinfo=s.zone)
    for expr, msg in [("on February 30th", "There is no February 30th."),
                      ("at 25:99", "25:99 is not a time of day."),
                      ("hello there", "I did not hear a time in that.")]:
        with pytest.raises(TimeParseError) as err:
            resolve_expression(expr, now, s)
        assert str(err.value) == msg


@pytest.mark.skipif(not TIMES_DEV.exists(), reason="shared evaluation data not present")
def test_times_dev_accuracy_at_least_97_percent() -> None:
    """The issue's target, checked on the dev file (bench/time_peers.py prints the table)."""
    cut = {"day": 10, "hour": 13, "minute": 16, "second": 19}
    s = _settings("UTC")
    rows = [json.loads(line) for line in TIMES_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    ok = 0
    for row in rows:
        now = datetime.fromisoformat(row["ref"]).replace(tzinfo=s.zone)
        try:
            v = resolve_expression(row["expr"], now, s)
        except TimeParseError:
            continue
        if row["kind"] == "duration":
            ok += v.kind == "duration" and v.value == row["seconds"]
        elif v.kind == "datetime":
            n = cut[row["grain"]]
            ok += v.value.replace(tzinfo=None).isoformat()[:n] == row["value"][:n]
    assert ok / len(rows) >= 0.97, f"{ok}/{len(rows)}"


_WORDS = ["remind", "me", "at", "in", "on", "every", "to", "the", "5", "25:99", "-3", "0", "tomorrow",
          "friday", "february", "30th", "pm", "a.m.", "half", "past", "quarter", "minutes", "hours",
          "days", "years", "99999999", "weekday", "until", "june", "other", "first", "of", "month",
          "and", "a", "twenty", "second", "noon", "midnight", "ago", "for", "timer", "called", ",", "."]
_INTENTS = ["reminder.create", "alarm.create", "timer.start", "calendar.create", "reminder.list",
            "alarm.cancel", "timer.cancel", "time.query", "out_of_scope", "snooze"]


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12), st.sampled_from(_INTENTS),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)))
def test_extract_slots_never_raises(words: list[str], intent: str, now: datetime) -> None:
    s = _settings("America/New_York")
    result = extract_slots(" ".join(words), intent, now.replace(tzinfo=s.zone), s)
    assert result.error is None or (result.error.endswith(".") and len(result.error) < 120)
    if result.error is None:
        _check_contract_format(result.slots)
