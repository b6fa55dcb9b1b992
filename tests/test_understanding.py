"""Household requests by category (tests/cases/understanding_cases.txt, issue 13).

Each line is checked through `extract_slots` (the slots of the `parse` contract, with the
intent given) and, for `say:`, through the read-back phrasing the skills speak. The
category headers ("## G1 ...") are for bench/understanding.py, which also runs the model.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant import phrasing
from assistant.timeparse import TimeSettings
from tests.fixtures.skills import extract_slots

CASES = Path(__file__).parent / "cases" / "understanding_cases.txt"
DEFAULT_NOW = "2026-03-27 10:00"
DEFAULT_ZONE = "Europe/Berlin"


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """One dict per case line: text, intent, now, zone, expect, category, line."""
    out, category = [], "-"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            category = line[3:].split()[0]
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        assert len(cols) == 5, f"{path.name}:{n}: expected 5 columns, got {len(cols)}"
        text, intent, now, zone, expect = cols
        out.append({"text": text, "intent": intent, "now": now or DEFAULT_NOW, "zone": zone or DEFAULT_ZONE,
                    "expect": expect, "category": category, "line": n})
    return out


def read_back(slots: dict[str, Any], now: datetime) -> str:
    """What a confirmation says about the stored item: the subject and the time."""
    what = phrasing.spoken_subject(slots.get("subject") or slots.get("label"))
    rec = slots.get("recurrence")
    if rec:
        first = datetime.fromisoformat(rec["next"][0]).astimezone(now.tzinfo)
        return f"{what} {phrasing.recurrence(rec['rrule'], first)}".strip()
    if slots.get("when"):
        return f"{what} {phrasing.when(datetime.fromisoformat(slots['when']), now)}".strip()
    if slots.get("duration_s"):
        return f"{what} {phrasing.when(now + timedelta(seconds=slots['duration_s']), now)}".strip()
    return what


def _same_time(got: str | None, want: str) -> bool:
    if got is None:
        return False
    if "T" in want:
        return got == want
    dt = datetime.fromisoformat(got)
    return dt.strftime("%Y-%m-%d %H:%M" if " " in want else "%Y-%m-%d") == want


def check(case: dict[str, Any]) -> list[str]:
    """The failed expectations of one case (empty = it passes)."""
    settings = TimeSettings(zone=ZoneInfo(case["zone"]))
    now = datetime.fromisoformat(case["now"]).replace(tzinfo=settings.zone)
    res = extract_slots(case["text"], case["intent"], now, settings)
    slots = res.slots
    unresolved = getattr(res, "unresolved", [])
    more = getattr(res, "more", [])
    fails: list[str] = []
    if case["expect"] == "-":  # an intent case: nothing to check without the model
        return fails
    for part in case["expect"].split(" & "):
        key, _, want = (x.strip() for x in part.partition(":"))
        rec = slots.get("recurrence")
        if key == "error":
            ok = res.error == (None if want == "-" else want)
            got: Any = res.error
        elif key in ("when", "end"):
            got = slots.get(key)
            ok = got is None if want == "-" else _same_time(got, want)
        elif key == "duration":
            got = slots.get("duration_s")
            ok = got == (None if want == "-" else int(want))
        elif key in ("subject", "label"):
            got = slots.get(key)
            ok = got == (None if want == "-" else want)
        elif key == "rrule":
            got = rec["rrule"] if rec else None
            ok = got == (None if want == "-" else want)
        elif key == "next":
            got = rec["next"] if rec else None
            wants = [w.strip() for w in want.split(",")]
            ok = bool(got) and all(_same_time(g, w) for g, w in zip(got, wants))
        elif key == "unresolved":
            got = unresolved
            ok = got == ([] if want == "-" else [w.strip() for w in want.split(";")])
        elif key == "more":
            got = [m.get("when") for m in more]
            wants = [] if want == "-" else [w.strip() for w in want.split(",")]
            ok = len(got) == len(wants) and all(_same_time(g, w) for g, w in zip(got, wants))
        elif key == "say":
            got = read_back(slots, now)
            ok = want in got
        else:
            raise AssertionError(f"unknown expectation {key!r} on line {case['line']}")
        if not ok:
            fails.append(f"{key}: want {want!r}, got {got!r} (error {res.error!r})")
    json.dumps(slots)
    return fails


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: f"L{c['line']}-{c['category']}:{c['text'][:40]}")
def test_understanding_case(case: dict[str, Any]) -> None:
    fails = check(case)
    assert not fails, "\n".join(fails)


def test_every_category_of_the_notes_has_cases() -> None:
    cats = {c["category"] for c in load_cases()}
    for cat in ("G1", "G2", "G3", "G4", "G5", "E3", "G7", "G8", "G9", "G10", "G11", "G12", "G13", "G14", "DR",
                "T2", "G18", "E4"):
        assert cat in cats, cat
