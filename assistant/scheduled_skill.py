"""The create / list / cancel / snooze flow that skills which schedule things share.

Part of the public skill API (like `assistant.skill`): reminders, alarms and calendar
events are `ScheduledSkill`s that set their kind and their wording; a third-party skill
that schedules something (e.g. "water the plants") can be one too. The logic of asking
for a missing time, confirming "cancel all" and matching what to cancel lives here once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from assistant import phrasing
from assistant.events import ParseResult
from assistant.kinds import KINDS, ScheduledKind
from assistant.skill import Context, FollowUp, Response, Skill
from assistant.store.db import MAX_SUBJECT, Item, ItemConflict
from assistant.timeparse import extract_slots
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
        self.add_intent(
            f"{domain}.update",
            self.on_update,
            SlotSpec(
                when="day", subject="target", target=domain, alarm_hours=alarm_hours, edit=True
            ),
        )
        self.domain = domain
        self.create_spec = create
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
        ctx.changed("create", [item])
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
                c.changed("cancel", items, items)
                return Response(f"Done, I cancelled {done} {self.noun}{'s' if done != 1 else ''}.")

            return Response(
                f"Do you want me to cancel all {n} {self.noun}{'s' if n != 1 else ''}?",
                follow_up=FollowUp("confirm", parsed.intent, {}, action=do_cancel),
            )
        chosen = self.pick(ctx, parsed, items)
        if isinstance(chosen, Response):
            return chosen
        ctx.store.cancel([it.id for it in chosen])
        ctx.changed("cancel", chosen, chosen)
        return Response(
            f"OK, I cancelled the {self.noun} {self.describe(chosen[0], ctx)}.", items=chosen
        )

    # -- which item -------------------------------------------------------------------------
    def pick(self, ctx: Context, parsed: ParseResult, items: list[Item]) -> list[Item] | Response:
        """The item(s) a cancel or an edit points at: by subject, label or time, "that" =
        the last one touched on this site; a question (a Response) when it is unclear."""
        text = parsed.text.lower()
        slots = parsed.slots
        # "the appointment", "it": no words that tell one item from another
        said = bool(words(slots.get("subject")) | words(slots.get("label")) or slots.get("when"))
        touched = self.last_touched(ctx, items)
        if LAST_RE.search(text):
            chosen = [touched or max(items, key=lambda it: it.created_ts)]
        elif not said and touched is not None and THAT_RE.search(text):
            chosen = [touched]
        elif not said:
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
        return chosen

    def last_touched(self, ctx: Context, items: list[Item]) -> Item | None:
        change = ctx.last_change()
        if change is None:
            return None
        ids = {it.id for it in change.after}
        return next((it for it in items if it.id in ids), None)

    # -- update -----------------------------------------------------------------------------
    def on_update(self, ctx: Context, parsed: ParseResult) -> Response:
        """Move, shift or rename one item: the same `Store.modify` the web page uses."""
        if parsed.error:
            return Response(parsed.error, ok=False, error=parsed.error)
        slots = parsed.slots
        change = slots.get("new_when") or slots.get("shift_s") or slots.get("new_subject")
        if not change:
            created = self.not_an_edit(ctx, parsed)
            if created is not None:
                return created
        items = ctx.store.pending(kind=self.kind)
        if not items:
            return Response(
                f"You have no {self.noun}s to change.", ok=False, error=f"no pending {self.noun}"
            )
        if not change:
            msg = (
                f"What should I change about the {self.noun}? For example: move it to "
                "7:30, push it back an hour, or rename it."
            )
            return Response(msg, ok=False, error="no new time, shift or name")
        chosen = self.pick(ctx, parsed, items)
        if isinstance(chosen, Response):
            return chosen
        item = chosen[0]
        due_ts = None
        if slots.get("shift_s"):
            due_ts = item.due_ts + slots["shift_s"]  # elapsed seconds, as a person means it
        elif slots.get("new_when"):
            new = datetime.fromisoformat(slots["new_when"]).astimezone(ctx.settings.zone)
            if slots.get("new_day_only"):  # "move it to Friday": same time of day
                old = item.due.astimezone(ctx.settings.zone)
                new = new.replace(hour=old.hour, minute=old.minute, second=old.second)
            elif slots.get("new_clock_only"):  # "change my alarm to 7:30": keep its day
                old = item.due.astimezone(ctx.settings.zone)
                same_day = datetime.combine(
                    old.date(), new.timetz().replace(tzinfo=None), ctx.settings.zone
                )
                if same_day > ctx.now:
                    new = same_day
            due_ts = new.timestamp()
        name = slots.get("new_subject")
        rename = {"label": name} if name and self.kind == "alarm" else {"subject": name}
        try:
            after = ctx.store.modify(
                item.id, due_ts=due_ts, now_ts=ctx.now.timestamp(), **(rename if name else {})
            )
        except (ItemConflict, ValueError) as exc:
            msg = f"I couldn't change that {self.noun}: {exc}."
            return Response(msg, ok=False, error=str(exc))
        if after is None:
            return Response(f"That {self.noun} is gone.", ok=False, error="no such item")
        if due_ts is not None:
            ctx.reschedule(after)
        ctx.changed("update", [after], [item])
        return Response(self.confirm_updated(after, ctx, moved=due_ts is not None), items=[after])

    def not_an_edit(self, ctx: Context, parsed: ParseResult) -> Response | None:
        """An "edit" with no change and no edit verb in it ("set reminder", "remind me every
        3 weeks to change the filter") is a create the classifier took for an edit: run it
        as the create (which asks for what is missing)."""
        if EDIT_VERB.search(parsed.text):
            return None
        res = extract_slots(parsed.text, self.create_spec, ctx.now, ctx.settings)
        if res.error or res.unresolved:
            return None
        return self.on_create(
            ctx, replace(parsed, intent=f"{self.domain}.create", slots=res.slots, error=None)
        )

    def confirm_updated(self, item: Item, ctx: Context, moved: bool) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        name = (
            f"your {what} {self.noun}"
            if self.kind != "calendar" and what
            else (f"your {what}" if what else f"your {self.noun}")
        )
        if moved:
            when = self.describe_time(item, ctx)
            return f"OK, I moved {name} to {when.removeprefix('on ')}."
        return f"OK, I renamed it: {name} {self.describe_time(item, ctx)}."

    # -- snooze -----------------------------------------------------------------------------
    def on_snooze(self, ctx: Context, parsed: ParseResult) -> Response:
        """Snooze whatever fired last on this site, if its kind may be snoozed. With
        nothing to snooze, "wake me up in 1 minute" is a new item in that time."""
        fired = ctx.state.last_fired
        if fired is None or not (fired.kind in KINDS and KINDS[fired.kind].snooze):
            seconds = parsed.slots.get("duration_s")
            if seconds and not re.match(SNOOZE, parsed.text, re.IGNORECASE):
                when = datetime.fromtimestamp(ctx.now.timestamp() + seconds, ctx.settings.zone)
                return self.on_create(
                    ctx,
                    ParseResult(
                        parsed.text,
                        parsed.intent.rsplit(".", 1)[0] + ".create",
                        parsed.confidence,
                        {**parsed.slots, "when": when.isoformat(), "duration_s": None},
                    ),
                )
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
EDIT_VERB = re.compile(
    r"^\s*(please\s+|can you\s+|could you\s+)?(move|push|bring|change|"
    r"reschedule|postpone|delay|shift|rename|update|make (it|that))\b|"
    r"\b(instead|later|earlier|back|forward)\b",
    re.IGNORECASE,
)
THAT_RE = re.compile(r"\b(it|that|this|that one|this one)\b")
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


__all__ = ["ALL_RE", "LAST_RE", "THAT_RE", "ScheduledSkill", "match_items", "words"]
