"""Per-site dialogue state kept in the shared store, so another daemon can continue it.

Why: with several daemons behind an MQTT shared subscription, the answer to "When should I
remind you?" may reach a different daemon than the one that asked, and "snooze" may reach
one that did not fire the alarm. With a shared store (PostgreSQL) each request loads the
site's state from the `dialogue` table before it is served and saves it afterwards (the
site's requests are serialised per daemon; across daemons the last write wins, as two
people talking to one room at once would get anyway). With SQLite nothing changes: the
state stays in memory, as before.

What is shared: a slot question (intent, slots so far, the missing slot: plain JSON) and
the last item that fired (its id). A yes/no confirmation carries a callable and stays with
the daemon that asked: another daemon does not take "yes" as an answer to a question it
cannot see, it serves the words as a new request (never silently wrong).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.dialogue import SiteState
    from assistant.store.db import Store

log = logging.getLogger(__name__)


def load(store: Store, state: SiteState, owner: str) -> None:
    """Replace the site's in-memory question and last fired item by the shared ones."""
    try:  # the skill API's home after issue 12; skills.base before it
        from assistant.skill import FollowUp  # type: ignore[attr-defined]
    except ImportError:
        from skills.base import FollowUp

    got = store.dialogue_get(state.site)
    if got is None:
        if state.follow_up is not None and state.follow_up.action is None:
            state.follow_up = None  # answered or dropped elsewhere
        return
    body, _ = got
    now_wall, now_mono = time.time(), time.monotonic()
    fu = body.get("follow_up")
    if fu is None:
        state.follow_up = None
    elif fu.get("owner") and state.follow_up is not None and state.follow_up.action is not None:
        if fu["owner"] != owner:
            state.follow_up = None  # another daemon asked something newer
    elif not fu.get("owner"):
        state.follow_up = FollowUp(fu["kind"], fu["intent"], dict(fu["slots"]),
                                   missing=fu.get("missing"))
        state.follow_up_ts = now_mono - max(0.0, now_wall - float(fu["asked"]))
    else:
        state.follow_up = None  # a confirmation asked by another daemon: not ours to answer
    fired = body.get("last_fired")
    if fired and fired.get("id") and (state.last_fired is None or state.last_fired.id != fired["id"]):
        item = store.get(fired["id"])
        if item is not None:
            state.last_fired = item
            state.last_fired_ts = now_mono - max(0.0, now_wall - float(fired["ts"]))
    elif not fired:
        state.last_fired = None


def save(store: Store, state: SiteState, owner: str) -> None:
    """Write the site's question and last fired item for the other daemons."""
    now_wall, now_mono = time.time(), time.monotonic()
    body: dict[str, Any] = {"follow_up": None, "last_fired": None}
    fu = state.follow_up
    if fu is not None:
        asked = now_wall - max(0.0, now_mono - state.follow_up_ts)
        entry = {"kind": fu.kind, "intent": fu.intent, "slots": fu.slots,
                 "missing": fu.missing, "asked": asked}
        try:
            json.dumps(fu.slots)
        except (TypeError, ValueError):
            entry = {"kind": fu.kind, "intent": fu.intent, "asked": asked, "owner": owner}
        if fu.action is not None:
            entry = {"kind": fu.kind, "intent": fu.intent, "asked": asked, "owner": owner}
        body["follow_up"] = entry
    if state.last_fired is not None:
        body["last_fired"] = {"id": state.last_fired.id,
                              "ts": now_wall - max(0.0, now_mono - state.last_fired_ts)}
    store.dialogue_put(state.site, body)
