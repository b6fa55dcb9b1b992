"""Built-in skills, and the registry that finds them.

A skill is any module in this package with a module-level `SKILL` (a `skills.base.Skill`),
or an installed distribution exposing one under the `assistant.skills` entry point group.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path

from skills.base import Skill

log = logging.getLogger(__name__)
_NOT_SKILLS = {"base", "scheduled"}


def load_skills() -> list[Skill]:
    found: list[Skill] = []
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if mod.name in _NOT_SKILLS or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"skills.{mod.name}")
        skill = getattr(module, "SKILL", None)
        if isinstance(skill, Skill):
            found.append(skill)
    for ep in entry_points(group="assistant.skills"):
        try:
            skill = ep.load()
        except Exception:
            log.exception("skill entry point %s failed to load; skipping it", ep.name)
            continue
        if isinstance(skill, Skill):
            found.append(skill)
        else:
            log.error("entry point %s is not a skills.base.Skill; skipping it", ep.name)
    return found


def intent_map(skills: list[Skill]) -> dict[str, Skill]:
    out: dict[str, Skill] = {}
    for skill in skills:
        for intent in skill.intents:
            out.setdefault(intent, skill)
    return out


def sentence_files(skills: list[Skill] | None = None) -> list[Path]:
    return [s.sentences for s in (skills or load_skills()) if s.sentences.exists()]
