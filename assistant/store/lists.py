"""Named lists of short text items (the shopping list) in the same SQLite file.

A skill's list lives next to the reminders, in the store that is the source of truth:
it survives restarts and `assistant reminders list` style tools can read it. The table is
created on first use (no schema-version step), so it adds nothing to the store's
migrations. An item is unique per list, compared without case ("Milk" = "milk").
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from assistant.store.db import Store

MAX_ITEM = 100  # characters; a spoken item is a few words
MAX_ITEMS = 500  # per list

_CREATE = (
    "CREATE TABLE IF NOT EXISTS list_items (list TEXT NOT NULL, key TEXT NOT NULL, "
    "item TEXT NOT NULL, added_ts REAL NOT NULL, PRIMARY KEY (list, key))"
)


class NamedList:
    """One list ("shopping") in the store."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        if not store.readonly:
            store._write(lambda: store.db.execute(_CREATE))

    def items(self) -> list[str]:
        with self.store._lock:
            try:
                rows = self.store.db.execute(
                    "SELECT item FROM list_items WHERE list = ? ORDER BY added_ts, rowid",
                    [self.name],
                ).fetchall()
            except Exception as exc:  # no table yet in a read-only store
                if "no such table" in str(exc):
                    return []
                raise
        return [r[0] for r in rows]

    def add(self, items: Iterable[str]) -> tuple[list[str], list[str]]:
        """(added, already there). Items longer than MAX_ITEM raise ValueError."""
        items = [" ".join(i.split()) for i in items if i and i.strip()]
        for i in items:
            if len(i) > MAX_ITEM:
                raise ValueError(f"an item longer than {MAX_ITEM} characters")
        have = {i.lower() for i in self.items()}
        added, present = [], []
        for i in items:
            (present if i.lower() in have else added).append(i)
            have.add(i.lower())
        if len(have) > MAX_ITEMS:
            raise ValueError(f"a list holds at most {MAX_ITEMS} items")
        now = time.time()
        if added:
            self.store._write(
                lambda: self.store.db.conn.executemany(
                    "INSERT OR IGNORE INTO list_items (list, key, item, added_ts) VALUES (?, ?, ?, ?)",
                    [(self.name, i.lower(), i, now) for i in added],
                )
            )
        return added, present

    def remove(self, items: Iterable[str]) -> tuple[list[str], list[str]]:
        """(removed, not on the list)."""
        have = {i.lower(): i for i in self.items()}
        gone = [have[i.lower()] for i in items if i.lower() in have]
        missing = [i for i in items if i.lower() not in have]
        if gone:
            self.store._write(
                lambda: self.store.db.conn.executemany(
                    "DELETE FROM list_items WHERE list = ? AND key = ?",
                    [(self.name, i.lower()) for i in gone],
                )
            )
        return gone, missing

    def clear(self) -> int:
        def run() -> int:
            return self.store.db.execute(
                "DELETE FROM list_items WHERE list = ?", [self.name]
            ).rowcount

        return self.store._write(run)


__all__ = ["MAX_ITEM", "MAX_ITEMS", "NamedList"]
