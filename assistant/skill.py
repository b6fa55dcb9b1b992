"""The skill API: what a skill is, what it gets, what it answers, and the registry.

A skill is a `Skill` object with a name, a sentence file (Home Assistant's format, see
`assistant/nlu/sentences.py`) and a table of intents, each with its handler and the
slots it takes (`SlotSpec`). Skills are plug-ins: the core imports none of them. They
come from three places, all loaded the same way by `load_registry`:
- the built-in folder `skills/` of this project (one folder or module per skill),
- the folders named in `[skills] paths`,
- installed distributions exposing a `Skill` under the `assistant.skills` entry point.
Each folder or module defines a module-level `SKILL`. The registry validates every skill
(intent names, handlers, sentences, no duplicates) and skips a bad one with one log line
naming it, or refuses to start when `[skills] strict = true`.

    from assistant.skill import Context, Response, Skill, SlotSpec

    SKILL = Skill("plants")

    @SKILL.intent("plants.water", slots=SlotSpec(when="moment"))
    def water(ctx: Context, parsed) -> Response:
        return Response(f"I'll water them at {parsed.slots['when']}.")
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.events import ParseResult
from assistant.kinds import KIND_NAME, KINDS, ScheduledKind
from assistant.timeparse.spec import NO_SLOTS, SlotSpec

if TYPE_CHECKING:
    from assistant.config import Config
    from assistant.dialogue import Change, SiteState
    from assistant.scheduling.scheduler import Scheduler
    from assistant.store.db import Item, Store
    from assistant.timeparse import TimeSettings

log = logging.getLogger(__name__)


def _builtin_dir() -> Path:
    """./skills of a source checkout (or editable install), else the installed copy."""
    here = Path(__file__).resolve().parents[1] / "skills"
    return here if here.is_dir() else Path(sys.prefix) / "share" / "assistant" / "skills"


BUILTIN_DIR = _builtin_dir()
ENTRY_POINT_GROUP = "assistant.skills"
SENTENCES_FILE = "sentences.yaml"
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
SKILL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OOS = "out_of_scope"

Handler = Callable[["Context", ParseResult], "Response"]


class SkillError(AssistantError):
    """A skill cannot be loaded or is malformed; the message names the skill and the fix."""


# -- what a handler gets and gives --------------------------------------------------------
@dataclass
class FollowUp:
    """A question the assistant asked; the next utterance on the site answers it."""

    kind: str  # "slot": fill `missing` from the answer; "confirm": yes/no
    intent: str
    slots: dict[str, Any]
    missing: str | None = None
    action: Callable[[Context], Response] | None = None


@dataclass
class Response:
    speech: str
    ok: bool = True
    error: str | None = None
    follow_up: FollowUp | None = None
    items: list[Item] = field(default_factory=list)


@dataclass
class Context:
    """What a handler may use: config, store, the site's dialogue state and the clock."""

    cfg: Config
    store: Store
    scheduler: Scheduler | None
    site: str
    now: datetime
    state: SiteState
    settings: TimeSettings
    publish: Callable[[str, Any], None] | None = None  # (subtopic, JSON payload), retained
    _to_schedule: list[Item] = field(default_factory=list)

    def save(self, item: Item) -> Item:
        """Store a scheduled item; it is scheduled once the handler's writes are committed,
        so the reply may only say 'done' once it is stored."""
        if item.kind not in KINDS:
            raise SkillError(
                f"no skill declares the scheduled kind {item.kind!r}; declare a "
                "ScheduledKind in the skill's `kinds`"
            )
        self.store.add(item)
        self._to_schedule.append(item)
        return item

    def reschedule(self, item: Item) -> None:
        self._to_schedule.append(item)

    def changed(self, action: str, after: list[Item], before: list[Item] | None = None) -> None:
        """Note what this request changed, for "undo" on this site; written with the
        handler's other writes (so a handler that fails leaves the previous note)."""
        from assistant.dialogue import Change

        change = Change(
            action, list(after), list(before) if before is not None else None, self.now.timestamp()
        )
        self.store.set_note(f"last_change:{self.site}", change.to_json())

    def last_change(self) -> Change | None:
        """The last change a request made on this site (None after an undo)."""
        from assistant.dialogue import Change

        raw = self.store.note(f"last_change:{self.site}")
        return Change.from_json(raw) if raw else None

    def forget_change(self) -> None:
        self.store.set_note(f"last_change:{self.site}", None)

    def committed(self) -> None:
        """Called by the pipeline after the handler's writes are committed."""
        if self.scheduler is not None:
            for item in self._to_schedule:
                self.scheduler.schedule(item)
        self._to_schedule.clear()

    def share(self, subtopic: str, payload: Any) -> None:
        """Publish a skill's state retained on `{root}/{subtopic}` (when MQTT runs)."""
        if self.publish is not None:
            self.publish(subtopic, payload)


# -- what a skill declares ------------------------------------------------------------------
@dataclass(frozen=True)
class Intent:
    name: str
    handler: Handler
    slots: SlotSpec = NO_SLOTS
    # A phrase that reaches this intent without the model ("snooze", "stop" while ringing);
    # `shortcut_when` = "always" or "ringing" (only while an alarm rings on the site).
    shortcut: re.Pattern[str] | None = None
    shortcut_when: str = "always"

    @property
    def trained(self) -> bool:
        """Recognized by the model (has sentences), not only by its shortcut."""
        return self.shortcut is None or self.shortcut_when == "always"


class Skill:
    """A named set of intents with their handlers, sentences and scheduled kinds."""

    def __init__(
        self, name: str, sentences: str | Path | None = None, kinds: Iterable[ScheduledKind] = ()
    ) -> None:
        self.name = name
        self.sentences: Path | None = Path(sentences) if sentences else None
        self.kinds: tuple[ScheduledKind, ...] = tuple(kinds)
        self.intents: dict[str, Intent] = {}
        self.origin = ""  # "builtin: /path", "folder: /path", "entry point: name (dist)"
        self._on_start: Callable[[Context], None] | None = None

    def add_intent(
        self,
        name: str,
        handler: Handler,
        slots: SlotSpec = NO_SLOTS,
        shortcut: str | None = None,
        shortcut_when: str = "always",
    ) -> None:
        if name in self.intents:
            raise SkillError(f"skill {self.name!r}: intent {name!r} is declared twice")
        pattern = re.compile(shortcut, re.IGNORECASE) if shortcut else None
        self.intents[name] = Intent(name, handler, slots, pattern, shortcut_when)

    def intent(
        self,
        name: str,
        slots: SlotSpec = NO_SLOTS,
        shortcut: str | None = None,
        shortcut_when: str = "always",
    ) -> Callable[[Handler], Handler]:
        """Decorator: `@SKILL.intent("plants.water", slots=SlotSpec(when="moment"))`."""

        def register(fn: Handler) -> Handler:
            self.add_intent(name, fn, slots, shortcut, shortcut_when)
            return fn

        return register

    def at_start(self, fn: Callable[[Context], None]) -> Callable[[Context], None]:
        """Decorator: run once when the assistant starts (e.g. publish retained state)."""
        self._on_start = fn
        return fn

    def start(self, ctx: Context) -> None:
        if self._on_start is not None:
            self._on_start(ctx)

    def __repr__(self) -> str:
        return f"<Skill {self.name} {sorted(self.intents)}>"


# -- the registry ---------------------------------------------------------------------------
class Registry:
    """The loaded skills, validated: intent -> (skill, handler, slots); kinds; sentences."""

    def __init__(self) -> None:
        self.skills: list[Skill] = []
        self.intents: dict[str, Intent] = {}
        self.owner: dict[str, Skill] = {}
        self.kinds: dict[str, ScheduledKind] = {}
        self.problems: list[str] = []  # one line per skipped skill

    def add(self, skill: Skill) -> None:
        """Validate and add one skill; SkillError (one line naming it) when it is malformed."""
        check_skill(skill, self)
        self.skills.append(skill)
        for name, intent in skill.intents.items():
            self.intents[name] = intent
            self.owner[name] = skill
        for kind in skill.kinds:
            self.kinds[kind.name] = kind
            KINDS.register(kind)

    def slot_spec(self, intent: str) -> SlotSpec:
        found = self.intents.get(intent)
        return found.slots if found else NO_SLOTS

    def sentence_files(self) -> list[Path]:
        """The sentence files of the skills the model recognizes (a skill reached only by
        a shortcut may have none)."""
        return [
            s.sentences
            for s in self.skills
            if s.sentences is not None and any(i.trained for i in s.intents.values())
        ]

    def shortcuts(self) -> list[Intent]:
        return [i for i in self.intents.values() if i.shortcut is not None]

    def describe(self) -> list[dict[str, Any]]:
        """For `assistant skills` and `assistant doctor`."""
        return [
            {
                "name": s.name,
                "origin": s.origin,
                "intents": sorted(s.intents),
                "kinds": [k.name for k in s.kinds],
                "sentences": str(s.sentences) if s.sentences else None,
            }
            for s in self.skills
        ]


def check_skill(skill: Any, registry: Registry) -> None:
    from assistant.nlu.sentences import TemplateError, intents_of

    if not isinstance(skill, Skill):
        raise SkillError(f"{skill!r} is not an assistant.skill.Skill")
    name = skill.name
    where = f"skill {name!r} ({skill.origin or 'unknown origin'})"
    if not SKILL_NAME.match(name or ""):
        raise SkillError(f"{where}: the name must be lowercase letters, digits and _")
    if any(s.name == name for s in registry.skills):
        raise SkillError(
            f"{where}: a skill with this name is already loaded "
            f"({next(s.origin for s in registry.skills if s.name == name)})"
        )
    if not skill.intents:
        raise SkillError(f"{where}: declares no intents")
    for intent_name, intent in skill.intents.items():
        if not INTENT_NAME.match(intent_name):
            raise SkillError(
                f"{where}: intent name {intent_name!r} is not <domain>.<action> "
                "(lowercase letters, digits and _, one dot)"
            )
        if intent_name == OOS or intent_name in registry.intents:
            other = registry.owner.get(intent_name)
            raise SkillError(
                f"{where}: intent {intent_name!r} is already handled by skill "
                f"{other.name if other else 'the core'!r}"
            )
        if not callable(intent.handler):
            raise SkillError(f"{where}: intent {intent_name!r} has no callable handler")
        if intent.shortcut_when not in ("always", "ringing"):
            raise SkillError(
                f"{where}: intent {intent_name!r}: shortcut_when must be 'always' or 'ringing'"
            )
    for kind in skill.kinds:
        if not isinstance(kind, ScheduledKind) or not KIND_NAME.match(kind.name):
            raise SkillError(f"{where}: kind {kind!r} is not a ScheduledKind with a lowercase name")
        if kind.name in registry.kinds:
            raise SkillError(f"{where}: scheduled kind {kind.name!r} is already declared")
    trained = {n for n, i in skill.intents.items() if i.trained}
    if not trained:
        return
    if skill.sentences is None or not skill.sentences.is_file():
        raise SkillError(
            f"{where}: no sentence file (expected {skill.sentences or SENTENCES_FILE})"
            f" for {', '.join(sorted(trained))}"
        )
    try:
        have = set(intents_of(skill.sentences))
    except TemplateError as exc:
        raise SkillError(f"{where}: {exc}") from None
    if trained - have:
        raise SkillError(
            f"{where}: no sentences for {', '.join(sorted(trained - have))} in {skill.sentences}"
        )
    if have - set(skill.intents):
        raise SkillError(
            f"{where}: {skill.sentences} has sentences for "
            f"{', '.join(sorted(have - set(skill.intents)))}, which it does not handle"
        )


# -- loading --------------------------------------------------------------------------------
def _import_path(path: Path, origin: str) -> Any:
    """Import a skill module (file) or package (folder) by path, under a private name, so
    skills are not top-level packages and two folders may hold a skill of the same name."""
    init = path / "__init__.py" if path.is_dir() else path
    modname = f"assistant_skill_{abs(hash(str(path.resolve()))):x}_{path.stem}"
    spec = importlib.util.spec_from_file_location(
        modname, init, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    if spec is None or spec.loader is None:
        raise SkillError(f"{origin}: not importable")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(modname, None)
        raise
    return module


def _skill_of(module: Any, default_sentences: Path, origin: str) -> Skill:
    skill = getattr(module, "SKILL", None)
    if not isinstance(skill, Skill):
        raise SkillError(f"{origin}: defines no module-level SKILL (an assistant.skill.Skill)")
    if skill.sentences is None:
        skill.sentences = default_sentences
    skill.origin = origin
    return skill


def folder_candidates(folder: Path) -> list[Path]:
    """Skill folders (with __init__.py) and modules (*.py) in a skills folder, by name."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(("_", ".")):
            continue
        if (p.is_dir() and (p / "__init__.py").is_file()) or (p.is_file() and p.suffix == ".py"):
            out.append(p)
    return out


def _from_path(path: Path, kind: str) -> Skill:
    origin = f"{kind}: {path}"
    module = _import_path(path, origin)
    default = path / SENTENCES_FILE if path.is_dir() else path.with_suffix(".yaml")
    return _skill_of(module, default, origin)


def _from_entry_point(ep: Any) -> Skill:
    dist = getattr(getattr(ep, "dist", None), "name", None)
    origin = f"entry point: {ep.name} = {ep.value}" + (f" ({dist})" if dist else "")
    obj = ep.load()
    module = sys.modules.get(ep.module)
    if isinstance(obj, Skill):
        skill = obj
    else:
        skill = getattr(obj, "SKILL", None)
        if not isinstance(skill, Skill):
            raise SkillError(f"{origin}: is not an assistant.skill.Skill (nor a module with SKILL)")
    if skill.sentences is None:
        base = Path(getattr(module, "__file__", "") or ".").parent
        skill.sentences = base / SENTENCES_FILE
    skill.origin = origin
    return skill


def load_registry(
    cfg: Config | None = None,
    strict: bool | None = None,
    builtin_dir: Path | None = BUILTIN_DIR,
    use_entry_points: bool = True,
) -> Registry:
    """Every skill from the built-in folder, `[skills] paths` and entry points, validated.

    A skill that fails to import or is malformed is skipped with one error line naming it
    (kept in `registry.problems`); with `strict` (default: `[skills] strict`) the first such
    problem raises SkillError instead.
    """
    skills_cfg = getattr(cfg, "skills", None)
    if strict is None:
        strict = bool(getattr(skills_cfg, "strict", False))
    registry = Registry()
    loaders: list[tuple[str, Callable[[], Skill]]] = []
    if builtin_dir is not None:
        loaders += [
            (f"builtin: {p}", lambda p=p: _from_path(p, "builtin"))
            for p in folder_candidates(builtin_dir)
        ]
    for raw in getattr(skills_cfg, "paths", None) or []:
        folder = cfg.resolve_path(raw) if cfg is not None else Path(raw)
        if not folder.is_dir():
            msg = f"[skills] paths: {folder} is not a folder; no skills loaded from it"
            if strict:
                raise SkillError(msg)
            log.error(msg)
            registry.problems.append(msg)
            continue
        loaders += [
            (f"folder: {p}", lambda p=p: _from_path(p, "folder")) for p in folder_candidates(folder)
        ]
    if use_entry_points:
        loaders += [
            (f"entry point: {ep.name}", lambda ep=ep: _from_entry_point(ep))
            for ep in entry_points(group=ENTRY_POINT_GROUP)
        ]
    for where, load in loaders:
        try:
            registry.add(load())
        except SkillError as exc:
            _problem(registry, str(exc), strict)
        except Exception as exc:  # a plug-in's import error must not take the daemon down
            _problem(registry, f"{where}: failed to load: {type(exc).__name__}: {exc}", strict)
    return registry


def _problem(registry: Registry, msg: str, strict: bool) -> None:
    if strict:
        raise SkillError(msg + " ([skills] strict = true: refusing to start)")
    log.error("skipping a skill: %s", msg)
    registry.problems.append(msg)


__all__ = [
    "BUILTIN_DIR",
    "ENTRY_POINT_GROUP",
    "Context",
    "FollowUp",
    "Handler",
    "Intent",
    "Registry",
    "Response",
    "ScheduledKind",
    "Skill",
    "SkillError",
    "SlotSpec",
    "load_registry",
]
