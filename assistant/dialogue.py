"""Per-site dialogue state: a pending question, the last item that fired, a ringing alarm.

Kept in memory with a timeout: a follow-up ("When should I remind you?") is answered by the
next utterance on the same site within `dialogue_timeout_s`, or forgotten.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.skill import FollowUp
    from assistant.store.db import Item

YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|of course|please do|do it|go ahead|"
                 r"confirm|correct|right|absolutely|that's right)\b", re.IGNORECASE)
NO = re.compile(r"^\s*(no|nope|nah|don't|do not|cancel|stop|never ?mind|forget it|"
                r"not now|leave it|abort)\b", re.IGNORECASE)


@dataclass
class Change:
    """One change a request made on a site: "create", "cancel", "update", "pause",
    "resume"; `before` holds the items as they were (None for a create), `after` as
    stored. `ts` is the assistant's clock, so "undo" works within a few minutes. Kept in
    the store (one per site, `Store.note`), so "undo" also works from the next
    `assistant say` process and after a restart."""

    action: str
    after: list[Item]
    before: list[Item] | None
    ts: float

    def to_json(self) -> str:
        return json.dumps({"action": self.action, "ts": self.ts,
                           "after": [asdict(it) for it in self.after],
                           "before": None if self.before is None else
                           [asdict(it) for it in self.before]})

    @classmethod
    def from_json(cls, text: str) -> Change:
        from assistant.store.db import Item

        d = json.loads(text)
        return cls(d["action"], [Item.from_row(r) for r in d["after"]],
                   None if d["before"] is None else [Item.from_row(r) for r in d["before"]],
                   float(d["ts"]))


@dataclass
class SiteState:
    site: str
    follow_up: FollowUp | None = None
    follow_up_ts: float = 0.0
    last_fired: Item | None = None
    last_fired_ts: float = 0.0
    ringing: dict[str, Callable[[], None]] = field(default_factory=dict)  # item id -> stop fn

    def ask(self, follow_up: FollowUp) -> None:
        self.follow_up = follow_up
        self.follow_up_ts = time.monotonic()

    def pending(self, timeout_s: float) -> FollowUp | None:
        if self.follow_up and time.monotonic() - self.follow_up_ts > timeout_s:
            self.follow_up = None
        return self.follow_up

    def stop_ringing(self) -> int:
        stops = list(self.ringing.values())
        self.ringing.clear()
        for stop in stops:
            stop()
        return len(stops)


MAX_IDLE_SITES = 1024  # with accept_any_site, any topic makes a site: keep memory bounded


class Dialogues:
    def __init__(self) -> None:
        self._sites: dict[str, SiteState] = {}
        self._lock = threading.Lock()

    def site(self, name: str) -> SiteState:
        with self._lock:
            state = self._sites.pop(name, None) or SiteState(name)
            self._sites[name] = state  # most recently used last
            if len(self._sites) > MAX_IDLE_SITES:
                self._forget_idle()
            return state

    def _forget_idle(self) -> None:
        """Drop the least recently used sites that hold nothing (no question, no ringing)."""
        for key in list(self._sites)[: len(self._sites) - MAX_IDLE_SITES]:
            st = self._sites[key]
            if st.follow_up is None and not st.ringing:
                del self._sites[key]

    def all(self) -> list[SiteState]:
        with self._lock:
            return list(self._sites.values())
