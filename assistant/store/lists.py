"""Named lists of short text items (the shopping list) in the same SQLite file.

A skill's list lives next to the reminders, in the store that is the source of truth:
it survives restarts and `assistant reminders list` style tools can read it. The table is
created on first use (no schema-version step), so it adds nothing to the store's
migrations; a file made before items could be checked off gets the `done` column added
the first time a writable store opens the list. An item is unique per list, compared
without case ("Milk" = "milk"), and has a stable URL-safe id (a short hash of the list
name and the item) for the web API.

The household shopping list is one list, `SHOPPING`, shared by the shopping_list skill
(voice) and the web page: whichever side changes it publishes `state()` as the retained
skill state `SHOPPING_TOPIC`, which the daemon fans out to MQTT and the page's event
stream (`Assistant.add_state_listener`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assistant.store.db import Store

MAX_ITEM = 100  # characters; a spoken item is a few words
MAX_ITEMS = 500  # per list
SHOPPING = "shopping"  # the list the voice skill and the web page share
SHOPPING_TOPIC = "shopping_list"  # its retained state: MQTT {root}/shopping_list

_CREATE = (
    "CREATE TABLE IF NOT EXISTS list_items (list TEXT NOT NULL, key TEXT NOT NULL, "
    "item TEXT NOT NULL, added_ts DOUBLE PRECISION NOT NULL, done INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (list, key))"
)
_ADD_DONE = "ALTER TABLE list_items ADD COLUMN done INTEGER NOT NULL DEFAULT 0"


def item_id(list_name: str, key: str) -> str:
    """Stable and URL-safe: the same item on the same list always has the same id."""
    return hashlib.blake2s(f"{list_name}\n{key}".encode(), digest_size=6).hexdigest()


def _clean(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Entry:
    """One item with its state, as the web page shows it."""

    id: str
    text: str
    done: bool
    added_ts: float


class NamedList:
    """One list ("shopping") in the store. `items()` are the ones still needed; checked-off
    items stay on the list (shown ticked on the web page) until removed or cleared."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        if not store.readonly:
            with store._lock:
                columns = self._columns()
                if not columns:
                    store._write(lambda: store.db.execute(_CREATE))
                elif "done" not in columns:
                    store._write(lambda: store.db.execute(_ADD_DONE))

    def _columns(self) -> set[str]:
        """The table's columns (empty: no table yet), without a failing query, which would
        abort an open PostgreSQL transaction."""
        if getattr(self.store, "shared", False):  # PostgreSQL (assistant/store/pg.py)
            rows = self.store.db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'list_items'"
            ).fetchall()
            return {r[0] for r in rows}
        rows = self.store.db.execute("PRAGMA table_info(list_items)").fetchall()
        return {r[1] for r in rows}

    # -- reads ----------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every item, checked off or not, in the order they were added."""
        with self.store._lock:
            columns = self._columns()
            if not columns:  # no table yet (a read-only store of a fresh file)
                return []
            done = "done" if "done" in columns else "0"
            rows = self.store.db.execute(
                f"SELECT key, item, {done}, added_ts FROM list_items WHERE list = ? "
                "ORDER BY added_ts, key",
                [self.name],
            ).fetchall()
        return [Entry(item_id(self.name, k), i, bool(d), ts) for k, i, d, ts in rows]

    def items(self) -> list[str]:
        """The items still needed (not checked off)."""
        return [e.text for e in self.entries() if not e.done]

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries() if e.id == entry_id), None)

    def state(self) -> dict[str, Any]:
        """The retained JSON: {"items": still needed, "count": how many, "done": checked off}."""
        entries = self.entries()
        needed = [e.text for e in entries if not e.done]
        return {"items": needed, "count": len(needed), "done": [e.text for e in entries if e.done]}

    # -- changes --------------------------------------------------------------------------
    def add(self, items: Iterable[str]) -> tuple[list[str], list[str]]:
        """(added, already there). An item that was checked off is un-checked and counts
        as added. Items longer than MAX_ITEM raise ValueError."""
        items = [_clean(i) for i in items if i and i.strip()]
        for i in items:
            if len(i) > MAX_ITEM:
                raise ValueError(f"an item longer than {MAX_ITEM} characters")
        with self.store._lock:
            have = {e.text.lower(): e for e in self.entries()}
            added, present, fresh, unchecked = [], [], [], []
            for i in items:
                key = i.lower()
                old = have.get(key)
                if old is not None and not old.done:
                    present.append(i)
                    continue
                if key in fresh or key in unchecked:
                    continue  # named twice in one request
                added.append(i)
                (unchecked if old is not None else fresh).append(key)
            if len(have) + len(fresh) > MAX_ITEMS:
                raise ValueError(f"a list holds at most {MAX_ITEMS} items")
            now = time.time()
            if added:
                texts = {i.lower(): i for i in added}

                def run() -> None:  # portable SQL: SQLite and PostgreSQL alike
                    db = self.store.db
                    for n, k in enumerate(fresh):  # +n µs: keeps the order said
                        db.execute(
                            "INSERT INTO list_items (list, key, item, added_ts, done) "
                            "VALUES (?, ?, ?, ?, 0) ON CONFLICT (list, key) DO NOTHING",
                            [self.name, k, texts[k], now + n * 1e-6],
                        )
                    for k in unchecked:
                        db.execute(
                            "UPDATE list_items SET done = 0 WHERE list = ? AND key = ?",
                            [self.name, k],
                        )

                self.store._write(run)
        return added, present

    def set_done(self, entry_id: str, done: bool) -> Entry | None:
        """Check an item off (or back on); None when the list has no such item."""
        with self.store._lock:
            entry = self.get(entry_id)
            if entry is None:
                return None
            if entry.done != done:
                self.store._write(
                    lambda: self.store.db.execute(
                        "UPDATE list_items SET done = ? WHERE list = ? AND key = ?",
                        [int(done), self.name, entry.text.lower()],
                    )
                )
        return Entry(entry.id, entry.text, done, entry.added_ts)

    def remove(self, items: Iterable[str]) -> tuple[list[str], list[str]]:
        """(removed, not on the list); checked-off items are removed too."""
        items = [_clean(i) for i in items]
        with self.store._lock:
            have = {e.text.lower(): e.text for e in self.entries()}
            gone = [have[i.lower()] for i in items if i.lower() in have]
            missing = [i for i in items if i.lower() not in have]
            if gone:

                def run() -> None:
                    for i in gone:
                        self.store.db.execute(
                            "DELETE FROM list_items WHERE list = ? AND key = ?",
                            [self.name, i.lower()],
                        )

                self.store._write(run)
        return gone, missing

    def remove_id(self, entry_id: str) -> bool:
        with self.store._lock:
            entry = self.get(entry_id)
            return entry is not None and bool(self.remove([entry.text])[0])

    def clear(self) -> int:
        """Remove every item, checked off or not; how many there were."""

        def run() -> int:
            return self.store.db.execute(
                "DELETE FROM list_items WHERE list = ?", [self.name]
            ).rowcount

        return self.store._write(run)


__all__ = ["MAX_ITEM", "MAX_ITEMS", "SHOPPING", "SHOPPING_TOPIC", "Entry", "NamedList", "item_id"]
