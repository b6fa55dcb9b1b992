"""Reads and edits of scheduled items, shared by the JSON API and the pages.

Edits go through `Store.modify` / `Store.cancel` (the same calls the spoken intents
use), then the scheduler gets a wake-up for the new time and every change listener
(MQTT state, the event stream) hears about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from assistant import phrasing
from assistant.kinds import KINDS
from assistant.store.db import STATUSES, Item, ItemConflict

log = logging.getLogger(__name__)


class NotFound(LookupError):
    pass


def item_json(item: Item) -> dict[str, Any]:
    """The API shape: `assistant reminders list --json` plus the version for conflicts."""
    return {**item.to_json(), "updated": item.updated_ts}


@dataclass
class ItemFilter:
    kind: str | None = None
    site: str | None = None
    status: str = "pending"
    start: datetime | None = None
    end: datetime | None = None
    q: str | None = None
    limit: int = 1000

    def validate(self) -> None:
        if self.kind is not None and self.kind not in KINDS and KINDS:
            raise ValueError(f"kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.status not in (*STATUSES, "any"):
            raise ValueError(f"status {self.status!r}: expected one of "
                             f"{', '.join(STATUSES)} or any")


def find_items(store: Any, f: ItemFilter) -> list[Item]:
    f.validate()
    if f.status == "pending":
        items = store.pending(kind=f.kind, site=f.site)
    else:
        items = [it for it in store.all_items()
                 if (f.status == "any" or it.status == f.status)
                 and (f.kind is None or it.kind == f.kind) and (f.site is None or it.site == f.site)]
        items.sort(key=lambda it: it.due_ts)
    if f.start is not None:
        items = [it for it in items if it.due_ts >= f.start.timestamp()]
    if f.end is not None:
        items = [it for it in items if it.due_ts < f.end.timestamp()]
    if f.q:
        q = f.q.lower()
        items = [it for it in items if q in (it.subject or "").lower()
                 or q in (it.label or "").lower()]
    return items[: f.limit]


def notify(assistant: Any) -> None:
    for listener in list(assistant.change_listeners):
        try:
            listener()
        except Exception:
            log.exception("state listener %r failed", listener)


def cancel_item(assistant: Any, item_id: str) -> Item:
    item = assistant.store.get(item_id)
    if item is None:
        raise NotFound(item_id)
    if not assistant.store.cancel([item_id]):
        raise ItemConflict(f"the {item.kind} is {item.status}, not pending")
    for state in assistant.dialogues.all():
        if item_id in state.ringing:
            state.ringing.pop(item_id)()
    notify(assistant)
    return assistant.store.get(item_id)


def update_item(assistant: Any, item_id: str, *, due: datetime | None = None,
                subject: str | None = None, label: str | None = None,
                expect_updated: float | None = None) -> Item:
    """Move and/or rename: the store edit, then a wake-up at the new time."""
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=assistant.zone)
    item = assistant.store.modify(item_id, due_ts=due.timestamp() if due else None,
                                  subject=subject, label=label,
                                  expect_updated_ts=expect_updated)
    if item is None:
        raise NotFound(item_id)
    if due is not None and assistant.scheduler is not None:
        assistant.scheduler.schedule(item)
    notify(assistant)
    return item


def describe(item: Item, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """What a page shows of an item (all strings; escaping is the template's job)."""
    due = item.due.astimezone(zone)
    return {
        "id": item.id, "kind": item.kind, "title": item.subject or item.label or item.kind,
        "label": item.label, "subject": item.subject, "site": item.site,
        "due_iso": due.isoformat(timespec="seconds"),
        "due_local": due.strftime("%Y-%m-%dT%H:%M"),
        "when": phrasing.recurrence(item.rrule, due) if item.rrule else phrasing.when(due, now),
        "clock": due.strftime("%H:%M"), "day": due.date(),
        "remaining_s": max(0, int(item.due_ts - now.timestamp())),
        "repeats": bool(item.rrule), "status": item.status, "updated": item.updated_ts,
    }


def remaining_text(seconds: int) -> str:
    h, rest = divmod(max(0, seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
