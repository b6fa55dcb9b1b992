"""Third-party skills for real: a folder skill (the docs/skills.md example) and an installed
distribution's entry point, each recognized by the real model with a time slot resolved;
the shopping list end to end over `assistant say` and MQTT."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.pipeline import Assistant
from assistant.skill import load_registry
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import write_config

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN)
pytestmark = pytest.mark.model  # fits an intent head with new sentences on the real model


def doc_files(dest: Path) -> list[Path]:
    """The code blocks of docs/skills.md that start with `# file: <path>`, written out."""
    text = (ROOT / "docs" / "skills.md").read_text(encoding="utf-8")
    out = []
    for body in re.findall(r"```(?:python|yaml)\n(# file: [^\n]+\n.*?)```", text, re.S):
        first, rest = body.split("\n", 1)
        path = dest / first.removeprefix("# file: ").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rest if path.suffix == ".yaml" else body, encoding="utf-8")
        out.append(path)
    return out


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_docs_example_folder_skill_is_recognized_with_its_time(tmp_path: Path) -> None:
    files = doc_files(tmp_path / "skills")
    assert {p.name for p in files} == {"__init__.py", "sentences.yaml"}
    cfg_path = write_config(
        tmp_path,
        skills={"paths": [str(tmp_path / "skills")], "strict": True},
        nlu={"model_dir": str(ROOT / "models"), "cache_dir": str(tmp_path / "cache")},
    )
    cfg = config.load(cfg_path)
    registry = load_registry(cfg)
    assert registry.owner["heating.schedule"].origin == f"folder: {tmp_path / 'skills' / 'heating'}"
    from assistant.nlu.parser import Parser

    a = Assistant(
        cfg,
        parser=Parser(cfg, registry=registry),
        schedule=True,
        clock=Clock(NOW),
        registry=registry,
    )
    events = []
    a.listeners.append(events.append)
    try:
        a.start()
        r = a.handle(Request(text="turn the heating on at 6 pm"))
        assert r.ok and r.intent == "heating.schedule", r
        assert r.slots["when"] == "2026-03-27T18:00:00+01:00"
        assert r.speech == "OK, the heating comes on at 18:00."
        (item,) = a.store.pending(kind="heating")
        r = a.handle(Request(text="set a timer for ten minutes"))
        assert r.intent == "timer.start"  # the built-ins still win theirs
        a._on_fire(item, 0.0, item.due_ts)
        assert (events[-1].type, events[-1].speech) == ("heating.on", "Turning the heating on.")
    finally:
        a.stop()
    listed = cli("skills", "--config", str(cfg_path))
    assert listed.returncode == 0, listed.stderr
    assert f"heating  (folder: {tmp_path / 'skills' / 'heating'})" in listed.stdout
    assert "builtin: " in listed.stdout and "shopping_list.add" in listed.stdout


TINY_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "assistant-tiny-skill"
version = "0.1.0"

[project.entry-points."assistant.skills"]
tiny = "tiny_skill:SKILL"

[tool.setuptools]
packages = ["tiny_skill"]

[tool.setuptools.package-data]
tiny_skill = ["sentences.yaml"]
"""
TINY_SENTENCES = """\
language: en
intents:
  bins.schedule:
    data:
      - sentences:
          - "(put | take) the (bins | trash cans | wheelie bins) out (at | by) {time} [{date}]"
          - "(the bins | the recycling | the trash) (go | goes) out (at | by) {time} [{date}]"
          - "bin (day | collection) is {date} at {time}"
"""
TINY_CODE = """\
from assistant.skill import Response, Skill, SlotSpec

SKILL = Skill("tiny")


@SKILL.intent("bins.schedule", slots=SlotSpec(when="moment"))
def bins(ctx, parsed):
    return Response("Bins at " + str(parsed.slots["when"]))
"""


def test_entry_point_skill_from_an_installed_distribution(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    (project / "tiny_skill").mkdir(parents=True)
    (project / "pyproject.toml").write_text(TINY_PYPROJECT)
    (project / "tiny_skill" / "__init__.py").write_text(TINY_CODE)
    (project / "tiny_skill" / "sentences.yaml").write_text(TINY_SENTENCES)
    site = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    assert list(site.glob("assistant_tiny_skill-0.1.0.dist-info/entry_points.txt"))
    cfg_path = write_config(
        tmp_path, nlu={"model_dir": str(ROOT / "models"), "cache_dir": str(tmp_path / "cache")}
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    listed = cli("skills", "--config", str(cfg_path), "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    tiny = next(s for s in json.loads(listed.stdout)["skills"] if s["name"] == "tiny")
    assert tiny["origin"] == "entry point: tiny = tiny_skill:SKILL (assistant-tiny-skill)"
    parsed = cli(
        "parse",
        "put the bins out at 7 pm",
        "--now",
        "2026-03-27T09:00",
        "--config",
        str(cfg_path),
        env=env,
    )
    assert parsed.returncode == 0, parsed.stderr
    out = json.loads(parsed.stdout)
    assert out["intent"] == "bins.schedule", out
    assert out["slots"]["when"] == "2026-03-27T19:00:00+01:00"
    said = cli("say", "put the bins out at 7 pm", "--json", "--config", str(cfg_path), env=env)
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout)["speech"].startswith("Bins at 2026-")


def test_shopping_list_over_say_and_mqtt(
    tmp_path: Path, mosquitto, probe_factory, start_daemon
) -> None:
    cfg_path = write_config(tmp_path, mqtt=mosquitto.mqtt_section())

    def say(text: str) -> dict:
        res = cli("say", text, "--json", "--config", str(cfg_path))
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    r = say("add milk and eggs to my shopping list")
    assert r["intent"] == "shopping_list.add" and r["ok"], r
    assert r["speech"] == "I added milk and eggs to your shopping list."
    assert say("add eggs to my shopping list")["speech"] == "Eggs is already on it."
    r = say("what's on my shopping list")
    assert r["speech"] == "You have 2 items on your shopping list: milk and eggs."

    # the daemon publishes the stored list retained on {root}/shopping_list at start
    d = start_daemon(cfg_path)
    d.wait_ready()
    p = probe_factory(mosquitto, subscribe=["assistant/shopping_list", "assistant/+/reply"])
    msg = p.expect(lambda m: m.topic == "assistant/shopping_list", timeout=30)
    assert msg.retain and json.loads(msg.payload) == {
        "items": ["milk", "eggs"],
        "count": 2,
        "done": [],
    }
    p.publish(
        "assistant/default/command",
        json.dumps({"text": "remove milk from my shopping list", "id": "s1"}),
    )
    reply = json.loads(p.expect(lambda m: m.topic == "assistant/default/reply", timeout=30).payload)
    assert reply["ok"] and reply["intent"] == "shopping_list.remove", reply
    msg = p.expect(lambda m: m.topic == "assistant/shopping_list", timeout=30)
    assert json.loads(msg.payload) == {"items": ["eggs"], "count": 1, "done": []}
    assert d.terminate()[0] == 0
