"""Timers: several at once, named ("pasta timer"), query, extend, cancel."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from assistant import phrasing
from assistant.events import ParseResult
from assistant.kinds import ScheduledKind
from assistant.scheduled_skill import ALL_RE, match_items
from assistant.skill import Context, FollowUp, Response, Skill
from assistant.store.db import Item
from assistant.timeparse.spec import SlotSpec

MAX_TIMER_S = 99 * 86400


def announce(item: Item, late_s: float, now: datetime) -> str:
    name = f"{item.label} timer" if item.label else "timer"
    return f"Your {name} is done."


TIMER = ScheduledKind(
    "timer", event_type="timer.done", display="Timers", announce=announce, sensor="active_timers"
)
# "the 10 minute timer", "the pasta timer": a length and a name point at a running timer
WHICH = SlotSpec(duration=True, label="timer", max_duration_s=MAX_TIMER_S)


class Timers(Skill):
    def __init__(self) -> None:
        super().__init__("timers", kinds=[TIMER])
        self.add_intent(
            "timer.start",
            self.on_start,
            SlotSpec(when="countdown", label="timer", max_duration_s=MAX_TIMER_S),
        )
        self.add_intent("timer.cancel", self.on_cancel, WHICH)
        self.add_intent("timer.query", self.on_query, WHICH)
        self.add_intent("timer.add", self.on_add, WHICH)
        self.add_intent("timer.pause", self.on_pause, WHICH)
        self.add_intent("timer.resume", self.on_resume, WHICH)

    @staticmethod
    def _name(item: Item) -> str:
        return f"{item.label} timer" if item.label else "timer"

    def on_start(self, ctx: Context, parsed: ParseResult) -> Response:
        if parsed.error:
            return Response(parsed.error, ok=False, error=parsed.error)
        seconds = parsed.slots.get("duration_s")
        if not seconds:
            return Response(
                "For how long?",
                follow_up=FollowUp("slot", parsed.intent, dict(parsed.slots), missing="duration_s"),
            )
        if seconds <= 0 or seconds > MAX_TIMER_S:
            msg = "Timers can run from one second to 99 days."
            return Response(msg, ok=False, error=msg)
        # Absolute seconds (UTC), not wall-clock arithmetic: "3 hours" at 00:30 on the night
        # the clocks change still rings after 3 hours.
        item = Item(
            kind="timer",
            due_ts=ctx.now.timestamp() + seconds,
            zone=ctx.settings.zone.key,
            label=parsed.slots.get("label"),
            subject=parsed.slots.get("subject"),
            duration_s=int(seconds),
            site=ctx.site,
        )
        ctx.save(item)
        ctx.changed("create", [item])
        name = f"{item.label} timer" if item.label else "A timer"
        return Response(f"{name} for {phrasing.duration(seconds)}, starting now.", items=[item])

    def _chosen(self, ctx: Context, parsed: ParseResult, timers: list[Item]) -> list[Item]:
        if len(timers) == 1:
            return timers
        return match_items(timers, parsed.text, parsed.slots, ctx.now)

    def on_query(self, ctx: Context, parsed: ParseResult) -> Response:
        timers = ctx.store.pending(kind="timer")
        if not timers:
            return Response("You have no timers running.", items=[])
        chosen = self._chosen(ctx, parsed, timers) or timers
        parts = [
            f"{phrasing.duration(max(0, it.due_ts - ctx.now.timestamp()))} left on the "
            f"{self._name(it)}"
            for it in chosen[:4]
        ]
        return Response(phrasing.sentence(phrasing.join_items(parts)) + ".", items=chosen)

    def on_add(self, ctx: Context, parsed: ParseResult) -> Response:
        timers = ctx.store.pending(kind="timer")
        seconds = parsed.slots.get("duration_s")
        if not timers:
            return Response("You have no timers running.", ok=False, error="no timer")
        if not seconds or seconds <= 0:
            return Response("How much time should I add?", ok=False, error="no duration")
        chosen = self._chosen(ctx, parsed, timers)
        if len(chosen) != 1:
            names = phrasing.join_items([self._name(it) for it in timers[:3]])
            return Response(f"Which timer: {names}?", ok=False, error="ambiguous timer")
        it = chosen[0]
        new_due = it.due_ts + seconds
        if new_due - ctx.now.timestamp() > MAX_TIMER_S:
            return Response("Timers can run for at most 99 days.", ok=False, error="too long")
        before = replace(it)
        ctx.store.update(
            it.id, due_ts=new_due, fire_ts=new_due, duration_s=(it.duration_s or 0) + int(seconds)
        )
        it.due_ts = it.fire_ts = new_due
        it.duration_s = (it.duration_s or 0) + int(seconds)
        ctx.reschedule(it)
        ctx.changed("update", [it], [before])
        left = phrasing.duration(new_due - ctx.now.timestamp())
        return Response(
            f"Added {phrasing.duration(seconds)}. {left} left on the {self._name(it)}.", items=[it]
        )

    def on_cancel(self, ctx: Context, parsed: ParseResult) -> Response:
        timers = ctx.store.pending(kind="timer")
        if not timers:
            return Response("You have no timers running.", ok=False, error="no timer")
        if ALL_RE.search(parsed.text.lower()):
            n = ctx.store.cancel([it.id for it in timers])
            return Response(f"OK, I cancelled {n} timer{'s' if n != 1 else ''}.", items=timers)
        chosen = self._chosen(ctx, parsed, timers)
        if len(chosen) != 1:
            names = phrasing.join_items([self._name(it) for it in timers[:3]])
            return Response(f"Which timer: {names}?", ok=False, error="ambiguous timer")
        ctx.store.cancel([chosen[0].id])
        ctx.changed("cancel", chosen, chosen)
        return Response(f"OK, I cancelled the {self._name(chosen[0])}.", items=chosen)

    # -- pause / resume -------------------------------------------------------------------
    def on_pause(self, ctx: Context, parsed: ParseResult) -> Response:
        """A paused timer keeps what it had left (`remaining_s`) and does not fire."""
        timers = ctx.store.pending(kind="timer")
        if not timers:
            paused = ctx.store.paused(kind="timer")
            msg = "Your timer is already paused." if paused else "You have no timers running."
            return Response(msg, ok=False, error="no running timer")
        chosen = self._chosen(ctx, parsed, timers)
        if len(chosen) != 1:
            names = phrasing.join_items([self._name(it) for it in timers[:3]])
            return Response(f"Which timer: {names}?", ok=False, error="ambiguous timer")
        pause(ctx, chosen[0])
        left = phrasing.duration(chosen[0].remaining_s or 0)
        return Response(f"OK, I paused the {self._name(chosen[0])} with {left} left.", items=chosen)

    def on_resume(self, ctx: Context, parsed: ParseResult) -> Response:
        paused = ctx.store.paused(kind="timer")
        if not paused:
            msg = (
                "Your timer is running."
                if ctx.store.pending(kind="timer")
                else "You have no paused timer."
            )
            return Response(msg, ok=False, error="no paused timer")
        chosen = self._chosen(ctx, parsed, paused)
        if len(chosen) != 1:
            names = phrasing.join_items([self._name(it) for it in paused[:3]])
            return Response(f"Which timer: {names}?", ok=False, error="ambiguous timer")
        resume(ctx, chosen[0])
        left = phrasing.duration(chosen[0].due_ts - ctx.now.timestamp())
        return Response(
            f"OK, the {self._name(chosen[0])} is running again: {left} left.", items=chosen
        )


def pause(ctx: Context, it: Item) -> None:
    before = replace(it)
    it.remaining_s = max(1.0, it.due_ts - ctx.now.timestamp())
    it.status = "paused"
    ctx.store.update(it.id, status="paused", remaining_s=it.remaining_s)
    ctx.changed("pause", [it], [before])


def resume(ctx: Context, it: Item) -> None:
    """Due again at now + what was left, in absolute seconds (a DST change cannot stretch it)."""
    before = replace(it)
    it.due_ts = it.fire_ts = ctx.now.timestamp() + (it.remaining_s or 0)
    it.status, it.remaining_s = "pending", None
    ctx.store.update(
        it.id, status="pending", due_ts=it.due_ts, fire_ts=it.fire_ts, remaining_s=None
    )
    ctx.reschedule(it)
    ctx.changed("resume", [it], [before])


SKILL = Timers()
