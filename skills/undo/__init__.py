"""Undo: "undo", "no, cancel that" reverts the last change made on this site.

The last create, cancel, update, pause or resume a request made on the site (kept by
`Context.changed` in the store, one per site) is reverted through the store, within
UNDO_WINDOW_S on the assistant's clock; after that, or twice in a row, it says so.
"""

from __future__ import annotations

from assistant import phrasing
from assistant.events import ParseResult
from assistant.skill import Context, Response, Skill
from assistant.store.db import Item, ItemConflict

UNDO_WINDOW_S = 5 * 60
# These reach the intent without the model ("no, cancel that" is not a cancel of an item)
UNDO = (
    r"^\s*(please\s+)?(undo|undo (that|it|the last (thing|change))|no,? (cancel|undo) that|"
    r"scratch that|take that back|revert (that|it))\s*(please)?\s*[.!]?\s*$"
)

SKILL = Skill("undo")


def _what(item: Item) -> str:
    name = phrasing.spoken_subject(item.subject or item.label)
    return f"the {item.kind if item.kind != 'calendar' else 'event'}" + (f" {name}" if name else "")


@SKILL.intent("assistant.undo", shortcut=UNDO)
def undo(ctx: Context, parsed: ParseResult) -> Response:
    change = ctx.last_change()
    if change is None or ctx.now.timestamp() - change.ts > UNDO_WINDOW_S:
        return Response(
            "There is nothing I can undo.",
            ok=False,
            error=f"no change on this site in the last {UNDO_WINDOW_S // 60} minutes",
        )
    now_ts = ctx.now.timestamp()
    try:
        if change.action == "create":
            done = ctx.store.cancel([it.id for it in change.after])
            if not done:
                raise ItemConflict("it has already gone off or been removed")
            speech = f"OK, I removed {_what(change.after[0])} again."
        elif change.action == "cancel":
            back = [it for it in change.before or [] if it.due_ts > now_ts or it.rrule]
            if not back:
                raise ItemConflict("its time has passed")
            for it in back:
                ctx.store.update(it.id, status="pending")
                ctx.reschedule(it)
            speech = f"OK, I put back {_what(back[0])}."
        elif change.action in ("update", "resume"):
            old = (change.before or [])[0]
            if change.action == "resume":
                ctx.store.update(old.id, status="paused", remaining_s=old.remaining_s)
            else:
                moved = ctx.store.modify(
                    old.id,
                    due_ts=old.due_ts if old.due_ts > now_ts else None,
                    subject=old.subject,
                    label=old.label,
                    now_ts=now_ts,
                )
                if moved is None:
                    raise ItemConflict("it is gone")
                ctx.reschedule(moved)
            speech = f"OK, {_what(old)} is back as it was."
        elif change.action == "pause":
            old = (change.before or [])[0]
            left = change.after[0].remaining_s or 0
            ctx.store.update(
                old.id,
                status="pending",
                due_ts=now_ts + left,
                fire_ts=now_ts + left,
                remaining_s=None,
            )
            old.due_ts = old.fire_ts = now_ts + left
            ctx.reschedule(old)
            speech = f"OK, {_what(old)} is running again."
        else:
            raise ItemConflict(f"I cannot undo a {change.action}")
    except (ItemConflict, ValueError) as exc:
        ctx.forget_change()
        msg = f"I can't undo that: {exc}."
        return Response(msg, ok=False, error=str(exc))
    ctx.forget_change()
    return Response(speech)
