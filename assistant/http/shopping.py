"""The one adapter between the web page and the shopping list.

The shopping-list skill (issue 12) owns the list and its store API; until it lands this
adapter keeps the list in a `shopping_list` table of the same SQLite file, through its
own connection (WAL lets it share the file with the daemon's store). Repoint these four
methods at the skill's store API and nothing else in assistant/http changes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

MAX_TEXT = 200


class ShoppingList:
    def __init__(self, db_path: Path) -> None:
        self._conn = sqlite3.connect(str(db_path), check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS shopping_list (id TEXT PRIMARY KEY, text TEXT NOT NULL,"
                " done INTEGER NOT NULL DEFAULT 0, created_ts REAL, updated_ts REAL)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM shopping_list ORDER BY done, created_ts").fetchall()
        return [_json(r) for r in rows]

    def add(self, text: str) -> dict[str, Any]:
        text = " ".join(text.split())
        if not text:
            raise ValueError("the item is empty")
        if len(text) > MAX_TEXT:
            raise ValueError(f"an item is at most {MAX_TEXT} characters")
        now = time.time()
        row = {"id": uuid.uuid4().hex[:12], "text": text, "done": 0, "created_ts": now,
               "updated_ts": now}
        with self._lock, self._conn:
            self._conn.execute("INSERT INTO shopping_list VALUES (:id, :text, :done, "
                               ":created_ts, :updated_ts)", row)
        return _json(row)

    def set_done(self, item_id: str, done: bool) -> dict[str, Any] | None:
        with self._lock, self._conn:
            cur = self._conn.execute("UPDATE shopping_list SET done = ?, updated_ts = ? "
                                     "WHERE id = ?", [int(done), time.time(), item_id])
            if not cur.rowcount:
                return None
            row = self._conn.execute("SELECT * FROM shopping_list WHERE id = ?",
                                     [item_id]).fetchone()
        return _json(row)

    def remove(self, item_id: str) -> bool:
        with self._lock, self._conn:
            return self._conn.execute("DELETE FROM shopping_list WHERE id = ?",
                                      [item_id]).rowcount > 0


def _json(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "text": row["text"], "done": bool(row["done"]),
            "added": row["created_ts"]}
