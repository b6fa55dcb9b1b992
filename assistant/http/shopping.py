"""The one adapter between the web page and the shopping list.

The list is the shopping_list skill's (`NamedList(store, SHOPPING)` in the daemon's own
store): what is added by voice shows on the page, what is checked off on the page is not
read back by voice. Every change made here is published the way the skill publishes its
own, as the retained skill state `shopping_list` (`Assistant.share`), which the daemon fans
out to MQTT and to the page's event stream (`shopping.changed`). The change and the
publication happen under the store's lock, so the last state published is the last one
written, whichever side wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from assistant.store.lists import MAX_ITEM, SHOPPING, SHOPPING_TOPIC, Entry, NamedList

log = logging.getLogger(__name__)
MAX_TEXT = MAX_ITEM
LEGACY_TABLE = "shopping_list"  # the web page's own table before the list was shared


class ShoppingList:
    def __init__(self, assistant: Any) -> None:
        self.store = assistant.store
        self._share: Callable[[str, Any], None] = assistant.share
        self.list = NamedList(self.store, SHOPPING)
        if not self.store.readonly:
            self._adopt_legacy_table()

    def items(self) -> list[dict[str, Any]]:
        """Still needed first, then checked off; each in the order added."""
        entries = self.list.entries()
        return [_json(e) for e in sorted(entries, key=lambda e: e.done)]

    def add(self, text: str) -> tuple[dict[str, Any], bool]:
        """(the item, whether it is new). An item already there is returned (and un-checked)."""
        text = " ".join(text.split())
        if not text:
            raise ValueError("the item is empty")
        if len(text) > MAX_TEXT:
            raise ValueError(f"an item is at most {MAX_TEXT} characters")
        with self.store.transaction():
            before = {e.text.lower() for e in self.list.entries()}
            added, _ = self.list.add([text])
            entry = next(e for e in self.list.entries() if e.text.lower() == text.lower())
            if added:
                self._publish()
        return _json(entry), text.lower() not in before

    def set_done(self, item_id: str, done: bool) -> dict[str, Any] | None:
        with self.store.transaction():
            entry = self.list.set_done(item_id, done)
            if entry is not None:
                self._publish()
        return _json(entry) if entry else None

    def remove(self, item_id: str) -> bool:
        with self.store.transaction():
            gone = self.list.remove_id(item_id)
            if gone:
                self._publish()
        return gone

    def _publish(self) -> None:
        self._share(SHOPPING_TOPIC, self.list.state())

    def _adopt_legacy_table(self) -> None:
        """Move the items of the page's former own table onto the shared list, once."""
        db = self.store.db
        with self.store.transaction():
            if not db[LEGACY_TABLE].exists():
                return
            rows = db.execute(f"SELECT text, done FROM {LEGACY_TABLE} ORDER BY created_ts"
                              ).fetchall()
            texts = [(" ".join(text[:MAX_ITEM].split()), bool(d)) for text, d in rows]
            try:
                added, _ = self.list.add(text for text, _ in texts)
            except ValueError as exc:
                log.warning("the web page's former shopping table (%d items) stays apart: %s",
                            len(rows), exc)
                return
            # Checked off there and not on the voice list: checked off. Needed by either: needed.
            new = {a.lower() for a in added}
            done = ({t.lower() for t, d in texts if d} - {t.lower() for t, d in texts if not d}) & new
            for e in self.list.entries():
                if e.text.lower() in done:
                    self.list.set_done(e.id, True)
            db[LEGACY_TABLE].drop()
        log.info("moved %d items of the web page's former shopping table onto the shared "
                 "shopping list", len(rows))


def _json(e: Entry) -> dict[str, Any]:
    return {"id": e.id, "text": e.text, "done": e.done, "added": e.added_ts}
