"""The skill API and registry without the ONNX model (a FakeParser names the intent; the real
time parser, store and pipeline do the rest)."""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.kinds import KINDS
from assistant.pipeline import Assistant
from assistant.skill import Skill, SkillError, load_registry
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import write_config
from tests.fixtures.skills import FakeParser

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN)

PLANTS_SENTENCES = """\
language: en
intents:
  plants.water:
    data:
      - sentences:
          - "water the (plants | ferns) [at {time}]"
lists:
  time:
    values: ["six pm"]
"""
PLANTS_SKILL = """\
from assistant.skill import Response, Skill, SlotSpec

SKILL = Skill("plants")


@SKILL.intent("plants.water", slots=SlotSpec(when="moment"))
def water(ctx, parsed):
    if parsed.slots["when"] is None:
        return Response("When?", ok=False, error="no time")
    return Response("Watering at " + parsed.slots["when"])
"""


def make_skill(
    folder: Path, name: str, code: str, sentences: str | None = PLANTS_SENTENCES
) -> Path:
    d = folder / name
    d.mkdir(parents=True)
    (d / "__init__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    if sentences is not None:
        (d / "sentences.yaml").write_text(sentences, encoding="utf-8")
    return d


@pytest.fixture
def assistant_for(tmp_path):
    made = []

    def make(table: dict[str, str], **sections) -> Assistant:
        cfg = config.load(write_config(tmp_path, **sections))
        registry = load_registry(cfg)
        a = Assistant(
            cfg,
            parser=FakeParser(table, registry),
            schedule=True,
            clock=Clock(NOW),
            registry=registry,
        )
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def say(a: Assistant, text: str, site: str = "default"):
    return a.handle(Request(text=text, site=site))


# -- loading and validation ---------------------------------------------------------------
def test_builtins_load_through_the_registry_with_their_origin() -> None:
    reg = load_registry(use_entry_points=False)
    assert reg.problems == []
    names = [s.name for s in reg.skills]
    assert names == ["alarms", "calendar", "clock", "reminders", "shopping_list", "timers", "undo"]
    assert all(s.origin.startswith("builtin: ") for s in reg.skills)
    assert {
        "shopping_list.add",
        "shopping_list.remove",
        "shopping_list.list",
        "shopping_list.clear",
        "reminder.snooze",
        "alarm.stop",
    } <= set(reg.intents)
    assert set(reg.kinds) == {"reminder", "alarm", "timer", "calendar"}


def test_folder_skill_gets_its_declared_time_slot(tmp_path, assistant_for) -> None:
    make_skill(tmp_path / "extra", "plants", PLANTS_SKILL)
    a = assistant_for(
        {"water the plants at six pm": "plants.water"}, skills={"paths": [str(tmp_path / "extra")]}
    )
    assert a.registry.owner["plants.water"].origin == f"folder: {tmp_path / 'extra' / 'plants'}"
    r = say(a, "water the plants at six pm")
    assert r.ok and r.intent == "plants.water"
    assert r.slots["when"] == "2026-03-27T18:00:00+01:00"
    assert r.speech == "Watering at 2026-03-27T18:00:00+01:00"


@pytest.mark.parametrize(
    "code, sentences, expected",
    [
        (
            "raise ImportError('no module named fancylib')",
            PLANTS_SENTENCES,
            "failed to load: ImportError: no module named fancylib",
        ),
        (
            PLANTS_SKILL.replace('"plants.water"', '"water"'),
            PLANTS_SENTENCES,
            "intent name 'water' is not <domain>.<action>",
        ),
        (
            PLANTS_SKILL.replace('"plants.water"', '"time.query"'),
            PLANTS_SENTENCES,
            "intent 'time.query' is already handled by skill 'clock'",
        ),
        (PLANTS_SKILL, None, "no sentence file"),
        (
            PLANTS_SKILL,
            PLANTS_SENTENCES.replace("plants.water", "plants.feed"),
            "no sentences for plants.water",
        ),
        (PLANTS_SKILL, "language: en\nintents:\n  plants.water: [", "not valid YAML"),
        ("X = 1", PLANTS_SENTENCES, "defines no module-level SKILL"),
    ],
)
def test_a_bad_skill_is_skipped_with_one_line_naming_it(
    tmp_path, caplog, code, sentences, expected
) -> None:
    make_skill(tmp_path / "extra", "plants", code, sentences)
    cfg = config.load(write_config(tmp_path, skills={"paths": [str(tmp_path / "extra")]}))
    with caplog.at_level(logging.ERROR, logger="assistant.skill"):
        reg = load_registry(cfg)
    assert len(reg.problems) == 1 and expected in reg.problems[0], reg.problems
    assert "plants" in reg.problems[0] and "\n" not in reg.problems[0]
    assert [s.name for s in reg.skills][:6] == [
        "alarms",
        "calendar",
        "clock",
        "reminders",
        "shopping_list",
        "timers",
    ]  # others serve on
    assert any(expected in r.getMessage() for r in caplog.records)
    with pytest.raises(SkillError, match="refusing to start"):
        load_registry(
            config.load(
                write_config(tmp_path, skills={"paths": [str(tmp_path / "extra")], "strict": True})
            )
        )


def test_duplicate_intent_inside_a_skill_is_refused() -> None:
    s = Skill("twice")
    s.add_intent("twice.do", lambda c, p: None)
    with pytest.raises(SkillError, match="'twice.do' is declared twice"):
        s.add_intent("twice.do", lambda c, p: None)


def test_handler_exception_is_spoken_and_writes_nothing(tmp_path, assistant_for) -> None:
    make_skill(
        tmp_path / "extra",
        "plants",
        """\
        from assistant.skill import Skill, SlotSpec
        from assistant.store.lists import NamedList

        SKILL = Skill("plants")


        @SKILL.intent("plants.water", slots=SlotSpec(when="moment"))
        def water(ctx, parsed):
            NamedList(ctx.store, "plants").add(["fern"])
            raise RuntimeError("sensor offline")
        """,
    )
    a = assistant_for(
        {"water the plants": "plants.water"}, skills={"paths": [str(tmp_path / "extra")]}
    )
    r = say(a, "water the plants")
    assert r.ok is False and r.speech == "Sorry, something went wrong with plants."
    assert "sensor offline" in r.error
    from assistant.store.lists import NamedList

    assert NamedList(a.store, "plants").items() == []  # rolled back
    assert say(a, "what time is it").intent == "out_of_scope"  # still serving


def test_a_third_party_kind_describes_itself(tmp_path, assistant_for) -> None:
    """One file adds a scheduled kind: event type, wording, sensor; the core reads them."""
    make_skill(
        tmp_path / "extra",
        "heating",
        """\
        from assistant.kinds import ScheduledKind
        from assistant.skill import Response, Skill, SlotSpec
        from assistant.store.db import Item

        HEATING = ScheduledKind("heating", event_type="heating.on", display="Heating",
                                announce=lambda item, late_s, now: "Turning the heating on.",
                                sensor="pending_reminders")
        SKILL = Skill("heating", kinds=[HEATING])


        @SKILL.intent("heating.schedule", slots=SlotSpec(when="moment"))
        def schedule(ctx, parsed):
            from datetime import datetime
            due = datetime.fromisoformat(parsed.slots["when"])
            ctx.save(Item(kind="heating", due_ts=due.timestamp(), zone=ctx.settings.zone.key,
                          site=ctx.site))
            return Response("Heating at " + parsed.slots["when"])
        """,
        sentences=PLANTS_SENTENCES.replace("plants.water", "heating.schedule"),
    )
    a = assistant_for(
        {"heat at six pm": "heating.schedule"}, skills={"paths": [str(tmp_path / "extra")]}
    )
    events = []
    a.listeners.append(events.append)
    a.start()
    r = say(a, "heat at six pm")
    assert r.ok, r
    (item,) = a.store.pending(kind="heating")
    assert a.entity_state()["pending_reminders"] == 1
    assert a.stats()["pending_by_kind"]["heating"] == 1
    a._on_fire(item, 0.0, item.due_ts)
    assert events[-1].type == "heating.on" and events[-1].speech == "Turning the heating on."
    assert KINDS["heating"].display == "Heating"


# -- shopping list -----------------------------------------------------------------------
SHOP = {
    "add milk and eggs to my shopping list": "shopping_list.add",
    "put eggs and bread on the shopping list": "shopping_list.add",
    "what's on my shopping list": "shopping_list.list",
    "remove milk from my shopping list": "shopping_list.remove",
    "clear my shopping list": "shopping_list.clear",
    "add to my shopping list": "shopping_list.add",
}


def test_shopping_list_adds_once_reads_back_removes_and_publishes(assistant_for) -> None:
    a = assistant_for(SHOP)
    shared = []
    a.add_state_listener(lambda topic, payload: shared.append((topic, payload)))
    a.start()
    assert shared[-1] == ("shopping_list", {"items": [], "count": 0, "done": []})
    r = say(a, "add milk and eggs to my shopping list")
    assert r.ok and r.speech == "I added milk and eggs to your shopping list."
    r = say(a, "put eggs and bread on the shopping list")
    assert r.speech == "I added bread to your shopping list. Eggs is already on it."
    r = say(a, "what's on my shopping list")
    assert r.speech == "You have 3 items on your shopping list: milk, eggs and bread."
    assert shared[-1] == (
        "shopping_list",
        {"items": ["milk", "eggs", "bread"], "count": 3, "done": []},
    )
    r = say(a, "remove milk from my shopping list")
    assert r.ok and r.speech == "I removed milk from your shopping list."
    r = say(a, "add to my shopping list")
    assert r.speech == "What should I add to the shopping list?"
    r = say(a, "coffee")
    assert r.ok and r.speech == "I added coffee to your shopping list."


def test_shopping_list_clear_asks_first(assistant_for) -> None:
    a = assistant_for(SHOP)
    say(a, "add milk and eggs to my shopping list")
    r = say(a, "clear my shopping list")
    assert r.speech == "Do you want me to clear all 2 items from your shopping list?"
    assert say(a, "no").speech == "OK, I'll leave them."
    assert say(a, "what's on my shopping list").speech.startswith("You have 2 items")
    say(a, "clear my shopping list")
    assert say(a, "yes").speech == "Done, I cleared 2 items from your shopping list."
    assert say(a, "what's on my shopping list").speech == "Your shopping list is empty."


def test_shopping_list_persists_in_the_store(tmp_path, assistant_for) -> None:
    a = assistant_for(SHOP)
    say(a, "add milk and eggs to my shopping list")
    a.stop()
    b = assistant_for(SHOP)
    assert say(b, "what's on my shopping list").speech.endswith("milk and eggs.")
