"""What a skill is: intents with example sentences, and a handler for each.

A skill module defines a subclass of `Skill` and a module-level `SKILL` instance. Its
example sentences live in `skills/sentences/<name>.txt` (hassil-style templates); the
recognizer is built from them at start, so adding a skill needs no training step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.events import ParseResult

if TYPE_CHECKING:
    from assistant.config import Config
    from assistant.dialogue import SiteState
    from assistant.scheduling.scheduler import Scheduler
    from assistant.store.db import Item, Store
    from assistant.timeparse import TimeSettings

SENTENCES_DIR = Path(__file__).parent / "sentences"


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
    cfg: Config
    store: Store
    scheduler: Scheduler | None
    site: str
    now: datetime
    state: SiteState
    settings: TimeSettings

    def save(self, item: Item) -> Item:
        """Commit first, then schedule: the reply may only say 'done' once it is stored."""
        self.store.add(item)
        if self.scheduler is not None:
            self.scheduler.schedule(item)
        return item

    def reschedule(self, item: Item) -> None:
        if self.scheduler is not None:
            self.scheduler.schedule(item)


class Skill:
    name: str = ""
    intents: tuple[str, ...] = ()

    @property
    def sentences(self) -> Path:
        return SENTENCES_DIR / f"{self.name}.txt"

    def handle(self, ctx: Context, parsed: ParseResult) -> Response:
        method = getattr(self, "on_" + parsed.intent.split(".", 1)[1].replace(".", "_"), None)
        if method is None:
            return Response(f"Sorry, I can't do that with {self.name} yet.", ok=False,
                            error=f"no handler for {parsed.intent}")
        return method(ctx, parsed)


# -- helpers shared by the scheduling skills ----------------------------------------------
_STOP = {"a", "an", "the", "my", "me", "to", "for", "about", "of", "on", "at", "in", "reminder",
         "reminders", "alarm", "alarms", "timer", "timers", "event", "events", "appointment",
         "called", "named", "remind", "cancel", "delete", "remove", "please", "set", "i", "you",
         "your", "that", "this", "one", "it"}
ALL_RE = re.compile(r"\b(all|every|everything|each)\b")
LAST_RE = re.compile(r"\b(last|latest|most recent|previous|just (?:set|made|created))\b")


def words(text: str | None) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", (text or "").lower()) if w not in _STOP}


def match_items(items: list[Item], text: str, slots: dict[str, Any],
                now: datetime) -> list[Item]:
    """Items a cancel/query request points at: by subject or label words, then by time."""
    query = words(slots.get("subject")) | words(slots.get("label"))
    if not query:
        query = words(text) - {"cancel", "delete", "remove", "stop", "forget", "clear", "off",
                               "turn", "don't", "dont", "need", "want", "anymore", "what", "how"}
    scored = []
    for item in items:
        have = words(item.subject) | words(item.label)
        overlap = len(query & have)
        if overlap:
            scored.append((overlap, item))
    if scored:
        best = max(s for s, _ in scored)
        return [it for s, it in scored if s == best]
    when = slots.get("when")
    if when:
        target = datetime.fromisoformat(when)
        same_minute = [it for it in items if abs(it.due_ts - target.timestamp()) < 60]
        if same_minute:
            return same_minute
        if target.hour == 0 and target.minute == 0 or _date_only(text):
            return [it for it in items if it.due.date() == target.date()]
    return []


def _date_only(text: str) -> bool:
    return not re.search(r"\d|o'?clock|noon|midnight|\bat\b|am\b|pm\b", text.lower())
