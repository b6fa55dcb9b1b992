"""The create / list / cancel / snooze flow that skills which schedule things share.

Part of the public skill API (like `assistant.skill`): reminders, alarms and calendar
events are `ScheduledSkill`s that set their kind and their wording; a third-party skill
that schedules something (e.g. "water the plants") can be one too. The logic of asking
for a missing time, confirming "cancel all" and matching what to cancel lives here once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from assistant import phrasing
from assistant.events import ParseResult
from assistant.kinds import KINDS, ScheduledKind
from assistant.skill import Context, FollowUp, Response, Skill
from assistant.store.db import MAX_SUBJECT, Item
from assistant.timeparse.spec import SlotSpec

MAX_AHEAD = timedelta(days=366 * 5)
SNOOZE = r"^\s*(please\s+)?snooze\b"


class ScheduledSkill(Skill):
    """A skill for one scheduled kind, with the intents <domain>.create/list/cancel[/snooze]."""

    noun = ""  # "reminder"
    needs_subject = False

    def __init__(
        self,
        name: str,
        kind: ScheduledKind,
        domain: str,
        *,
        create: SlotSpec,
        alarm_hours: bool = False,
        snooze: bool = False,
        snooze_shortcut: bool = False,
    ) -> None:
        super().__init__(name, kinds=[kind])
        self.kind = kind.name
        self.add_intent(f"{domain}.create", self.on_create, create)
        self.add_intent(
            f"{domain}.list",
            self.on_list,
            SlotSpec(when="day", subject="filter", alarm_hours=alarm_hours),
        )
        self.add_intent(
            f"{domain}.cancel",
            self.on_cancel,
            SlotSpec(when="day", subject="target", target=domain, alarm_hours=alarm_hours),
        )
        if snooze:
            self.add_intent(
                f"{domain}.snooze",
                self.on_snooze,
                SlotSpec(duration=True),
                shortcut=SNOOZE if snooze_shortcut else None,
            )

    # -- wording, overridden per skill ------------------------------------------------------
    def ask_when(self) -> str:
        return f"When should I set the {self.noun}?"

    def ask_subject(self) -> str:
        return f"What is the {self.noun} for?"

    def confirm_created(self, item: Item, ctx: Context) -> str:
        return f"OK, {self.noun} set {self.describe_time(item, ctx)}."

    def describe(self, item: Item, ctx: Context) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        base = f"{what} " if what else ""
        return f"{base}{self.describe_time(item, ctx)}".strip()

    def describe_time(self, item: Item, ctx: Context) -> str:
        if item.rrule:
            return phrasing.recurrence(item.rrule, item.due.astimezone(ctx.now.tzinfo))
        return phrasing.when(item.due, ctx.now)

    def notice_s(self, ctx: Context) -> int:
        return 0

    # -- create -----------------------------------------------------------------------------
    def on_create(self, ctx: Context, parsed: ParseResult) -> Response:
        slots = parsed.slots
        refused = self.too_long(slots)
        if refused:
            return refused
        if parsed.error:
            return Response(parsed.error, ok=False, error=parsed.error)
        if not slots.get("when") and not slots.get("recurrence"):
            return Response(
                self.ask_when(),
                ok=True,
                follow_up=FollowUp("slot", parsed.intent, dict(slots), missing="when"),
            )
        if self.needs_subject and not (slots.get("subject") or slots.get("label")):
            return Response(
                self.ask_subject(),
                ok=True,
                follow_up=FollowUp("slot", parsed.intent, dict(slots), missing="subject"),
            )
        return self.create(ctx, slots)

    def too_long(self, slots: dict[str, Any]) -> Response | None:
        for key in ("subject", "label"):
            if slots.get(key) and len(slots[key]) > MAX_SUBJECT:
                msg = (
                    f"That is too long for a {self.noun}; please keep it under "
                    f"{MAX_SUBJECT} characters."
                )
                return Response(msg, ok=False, error=msg)
        return None

    def create(self, ctx: Context, slots: dict[str, Any]) -> Response:
        refused = self.too_long(slots)
        if refused:
            return refused
        rec = slots.get("recurrence")
        if rec:
            first = datetime.fromisoformat(rec["next"][0]) if rec.get("next") else None
            if first is None:
                return Response(
                    "That repeating time never happens.",
                    ok=False,
                    error="recurrence has no occurrence",
                )
        else:
            first = datetime.fromisoformat(slots["when"])
        if first <= ctx.now - timedelta(seconds=5):
            msg = "That time is already in the past."
            return Response(msg, ok=False, error=msg)
        if first - ctx.now > MAX_AHEAD:
            msg = "That is too far ahead; I can schedule up to five years ahead."
            return Response(msg, ok=False, error=msg)
        local = first.astimezone(ctx.settings.zone)
        notice = self.notice_s(ctx)
        if notice and local.timestamp() - notice < ctx.now.timestamp():
            notice = 0
        item = Item(
            kind=self.kind,
            due_ts=local.timestamp(),
            zone=ctx.settings.zone.key,
            subject=slots.get("subject"),
            label=slots.get("label"),
            rrule=rec["rrule"] if rec else None,
            dtstart_local=local.replace(tzinfo=None).isoformat() if rec else None,
            site=ctx.site,
            notice_s=notice,
            duration_s=slots.get("duration_s"),
        )
        ctx.save(item)
        return Response(self.confirm_created(item, ctx), items=[item])

    # -- list -------------------------------------------------------------------------------
    def on_list(self, ctx: Context, parsed: ParseResult) -> Response:
        items = ctx.store.pending(kind=self.kind)
        when = parsed.slots.get("when")
        if when:
            day = datetime.fromisoformat(when).astimezone(ctx.now.tzinfo).date()
            items = [it for it in items if it.due.astimezone(ctx.now.tzinfo).date() == day]
            span = phrasing.day(datetime.fromisoformat(when), ctx.now)
        else:
            span = ""
        if not items:
            return Response(f"You have no {self.noun}s{' ' + span if span else ''}.", items=[])
        listed = [self.describe(it, ctx) for it in items[:5]]
        more = f", and {len(items) - 5} more" if len(items) > 5 else ""
        n = len(items)
        head = f"You have {n} {self.noun}{'s' if n != 1 else ''}{' ' + span if span else ''}"
        return Response(f"{head}: {phrasing.join_items(listed)}{more}.", items=items)

    # -- cancel -----------------------------------------------------------------------------
    def on_cancel(self, ctx: Context, parsed: ParseResult) -> Response:
        items = ctx.store.pending(kind=self.kind)
        if not items:
            return Response(
                f"You have no {self.noun}s to cancel.", ok=False, error=f"no pending {self.noun}"
            )
        text = parsed.text.lower()
        subject = parsed.slots.get("subject")
        if subject == "all" or (ALL_RE.search(text) and not (subject or parsed.slots.get("when"))):
            ids = [it.id for it in items]
            n = len(ids)

            def do_cancel(c: Context) -> Response:
                done = c.store.cancel(ids)
                return Response(f"Done, I cancelled {done} {self.noun}{'s' if done != 1 else ''}.")

            return Response(
                f"Do you want me to cancel all {n} {self.noun}{'s' if n != 1 else ''}?",
                follow_up=FollowUp("confirm", parsed.intent, {}, action=do_cancel),
            )
        if LAST_RE.search(text):
            chosen = [max(items, key=lambda it: it.created_ts)]
        elif len(items) == 1 and not (
            parsed.slots.get("subject") or parsed.slots.get("when") or parsed.slots.get("label")
        ):
            chosen = items
        else:
            chosen = match_items(items, parsed.text, parsed.slots, ctx.now)
        if not chosen:
            listed = phrasing.join_items([self.describe(it, ctx) for it in items[:3]])
            msg = f"I couldn't find that {self.noun}. You have: {listed}."
            return Response(msg, ok=False, error=f"no matching {self.noun}")
        if len(chosen) > 1 and len({(it.subject, it.due_ts) for it in chosen}) > 1:
            listed = phrasing.join_items([self.describe(it, ctx) for it in chosen[:3]])
            return Response(f"Which one: {listed}?", ok=False, error=f"several {self.noun}s match")
        ctx.store.cancel([it.id for it in chosen])
        return Response(
            f"OK, I cancelled the {self.noun} {self.describe(chosen[0], ctx)}.", items=chosen
        )

    # -- snooze -----------------------------------------------------------------------------
    def on_snooze(self, ctx: Context, parsed: ParseResult) -> Response:
        """Snooze whatever fired last on this site, if its kind may be snoozed."""
        fired = ctx.state.last_fired
        if fired is None or not (fired.kind in KINDS and KINDS[fired.kind].snooze):
            return Response(
                "There is nothing to snooze right now.",
                ok=False,
                error="nothing fired recently on this site",
            )
        seconds = parsed.slots.get("duration_s") or ctx.cfg.scheduler.snooze_default_s
        ctx.state.stop_ringing()
        # Elapsed time: added in absolute (UTC) seconds, so a snooze across a DST change
        # still lasts exactly `seconds`.
        item = Item(
            kind=fired.kind,
            due_ts=ctx.now.timestamp() + seconds,
            zone=fired.zone,
            subject=fired.subject,
            label=fired.label,
            site=ctx.site,
        )
        ctx.save(item)
        if not fired.rrule:
            ctx.store.update(fired.id, status="snoozed")
        ctx.state.last_fired = None
        return Response(f"OK, snoozed for {phrasing.duration(seconds)}.", items=[item])


# -- helpers for skills that pick items by what the user said -------------------------------
_STOP = {
    "a",
    "an",
    "the",
    "my",
    "me",
    "to",
    "for",
    "about",
    "of",
    "on",
    "at",
    "in",
    "reminder",
    "reminders",
    "alarm",
    "alarms",
    "timer",
    "timers",
    "event",
    "events",
    "appointment",
    "called",
    "named",
    "remind",
    "cancel",
    "delete",
    "remove",
    "please",
    "set",
    "i",
    "you",
    "your",
    "that",
    "this",
    "one",
    "it",
}
ALL_RE = re.compile(r"\b(all|every|everything|each)\b")
LAST_RE = re.compile(r"\b(last|latest|most recent|previous|just (?:set|made|created))\b")


def words(text: str | None) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", (text or "").lower()) if w not in _STOP}


def match_items(items: list[Item], text: str, slots: dict[str, Any], now: datetime) -> list[Item]:
    """Items a cancel/query request points at: by subject or label words, then by time."""
    query = words(slots.get("subject")) | words(slots.get("label"))
    if not query:
        query = words(text) - {
            "cancel",
            "delete",
            "remove",
            "stop",
            "forget",
            "clear",
            "off",
            "turn",
            "don't",
            "dont",
            "need",
            "want",
            "anymore",
            "what",
            "how",
        }
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


__all__ = ["ALL_RE", "LAST_RE", "ScheduledSkill", "match_items", "words"]
