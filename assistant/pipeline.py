"""The one text entry point: MQTT, the CLI and the microphone all end up in `Assistant.handle`.

text -> dialogue state (a pending question? a ringing alarm?) -> NLU -> skill -> store
(+ scheduler) -> Reply. When the scheduler fires an item, `Assistant` turns it into an
`Event`, remembers it on its site (for "snooze"), and hands it to every listener
(MQTT publisher, speaker).
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from assistant import phrasing
from assistant.config import Config
from assistant.dialogue import NO, STOP_ALARM, YES, Dialogues, SiteState
from assistant.events import EVENT_TYPES, Event, ParseResult, Reply, Request, empty_slots
from assistant.store.db import Item, Store, StoreError
from assistant.store.factory import open_store
from assistant.timeparse import TimeSettings, extract_slots
from skills import intent_map, load_skills
from skills.base import Context, FollowUp, Response

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # a spoken request is far shorter; longer ones are refused, not cut
SNOOZE_RE = re.compile(r"^\s*(please\s+)?snooze\b", re.IGNORECASE)
EventListener = Callable[[Event], None]
NEW_REQUEST_MIN = 0.6  # classifier confidence for a follow-up answer to count as a new request
_ASK_WHEN = {"reminder": "When should I remind you?", "alarm": "When should the alarm go off?",
             "calendar": "When is it?", "timer": "How long should the timer run?"}


def _creates(intent: str) -> bool:
    return intent.endswith(".create") or intent == "timer.start"


def _is_new_request(p: ParseResult, follow: FollowUp) -> bool:
    """An answer to "What should I remind you about?" that is a full request of its own
    ("what time is it", "remind me to call mom at 5") is that request, not a subject."""
    if p.intent == "out_of_scope" or p.confidence < NEW_REQUEST_MIN:
        return False
    if p.intent != follow.intent:
        return True
    return bool(p.slots.get("when") or p.slots.get("recurrence"))


def unresolved_reply(parsed: ParseResult) -> Response:
    """Never silently wrong: say which words we could not turn into a time, store nothing,
    and ask for a time instead (the answer fills the same request)."""
    words = " and ".join(f'"{u}"' for u in parsed.unresolved)
    domain = parsed.intent.split(".", 1)[0]
    ask = _ASK_WHEN.get(domain, "When should it be?")
    slots = {**parsed.slots, "when": None, "recurrence": None}
    slots.pop("end", None)
    missing = "duration_s" if parsed.intent == "timer.start" else "when"
    return Response(f"I can't tell the time from {words}, so I haven't set anything. {ask}",
                    ok=False, error="unresolved: " + "; ".join(parsed.unresolved),
                    follow_up=FollowUp("slot", parsed.intent, slots, missing=missing))


class Assistant:
    """Owns the store, the skills, the parser and (in the daemon) the scheduler."""

    def __init__(self, cfg: Config, parser: Any = None, store: Store | None = None,
                 schedule: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.settings = TimeSettings.from_config(cfg)
        self.zone = self.settings.zone
        self.clock = clock
        self.store = store or open_store(cfg)
        self.skills = load_skills()
        self.intents = intent_map(self.skills)
        if parser is None:
            from assistant.nlu.parser import Parser

            parser = Parser(cfg)
        self.parser = parser
        self.dialogues = Dialogues()
        self.scheduler = None
        if schedule:
            from assistant.scheduling.scheduler import Scheduler

            self.scheduler = Scheduler(self.store, self._on_fire, cfg.scheduler.missed_after_s,
                                       clock, record=self._record_fire,
                                       on_batch=self._after_fires)
        self.listeners: list[EventListener] = []
        self.change_listeners: list[Callable[[], None]] = []
        # Set by the daemon when an MQTT publisher drains the store's outbox: fired events
        # are then recorded in the firing transaction and survive a crash until delivered.
        self.outbox = False
        self.outbox_listeners: list[Callable[[], None]] = []
        self.latencies_ms: deque[float] = deque(maxlen=500)
        self.started = time.time()
        self.restored: dict[str, int] = {}
        self._lock = threading.RLock()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        if self.scheduler is not None:
            self.restored = self.scheduler.start()

    def stop(self) -> None:
        for state in self.dialogues.all():
            state.stop_ringing()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.store.close()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.zone)

    # -- requests ---------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        t0 = time.perf_counter()
        parsed = ParseResult(req.text, "out_of_scope", 0.0, empty_slots())
        with self._lock:
            if req.key:
                again = self._recorded(req)
                if again is not None:
                    return again
            state = self.dialogues.site(req.site)
            self._shared_dialogue(state, load=True)
            version = self.store.version
            reply: Reply | None = None
            try:
                # The action and the record of its reply commit together (or not at all).
                with self.store.transaction():
                    parsed, resp = self._respond(req, state)
                    reply = self._reply(req, parsed, resp)
                    if req.key and not self.store.readonly:
                        self.store.remember_command(req.key, reply.to_json())
            except StoreError as exc:
                log.error("store error while serving %r on %s: %s", req.text, req.site, exc)
                resp = Response("Sorry, I couldn't save that. " + str(exc).split(": ", 1)[-1],
                                ok=False, error=str(exc))
                reply = None
            except Exception as exc:
                log.exception("failed to serve %r on site %s", req.text, req.site)
                resp = Response("Sorry, something went wrong.", ok=False,
                                error=f"internal error: {type(exc).__name__}: {exc}")
                reply = None
            if reply is None:
                reply = self._reply(req, parsed, resp)
                self._remember_failure(req, reply)
            if resp.follow_up is not None:
                state.ask(resp.follow_up)
            self._shared_dialogue(state, load=False)
        self.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if self.store.version != version:
            self._changed()
        return reply

    def _shared_dialogue(self, state: SiteState, load: bool) -> None:
        """Several daemons on one PostgreSQL store: the site's question and last fired item
        live there, so another daemon can take the answer (assistant/dialogue_shared.py)."""
        if not self.store.shared:
            return
        from assistant import dialogue_shared

        try:
            (dialogue_shared.load if load else dialogue_shared.save)(
                self.store, state, getattr(self.store, "owner", ""))
        except StoreError as exc:
            log.error("cannot %s the dialogue state of site %s: %s",
                      "read" if load else "save", state.site, exc)

    @staticmethod
    def _reply(req: Request, parsed: ParseResult, resp: Response) -> Reply:
        return Reply(id=req.id, ok=resp.ok, intent=parsed.intent, slots=parsed.slots,
                     speech=resp.speech, error=resp.error, site=req.site, heard=req.text)

    def _recorded(self, req: Request) -> Reply | None:
        """The reply already given to this request key, when it is a repeat."""
        assert req.key is not None
        try:
            stored = self.store.command_reply(req.key)
        except StoreError as exc:
            log.warning("cannot look up command %r: %s", req.key, exc)
            return None
        if stored is None:
            return None
        log.info("site %r: command id %r seen before; sending the same reply, not acting twice",
                 req.site, req.id)
        reply = Reply.from_json(stored, req.site, req.text)
        reply.id = req.id
        return reply

    def _remember_failure(self, req: Request, reply: Reply) -> None:
        if req.key and not self.store.readonly:
            try:
                self.store.remember_command(req.key, reply.to_json())
            except StoreError as exc:
                log.warning("cannot record the reply to command %r: %s", req.key, exc)

    def _context(self, site: str, state: SiteState) -> Context:
        return Context(self.cfg, self.store, self.scheduler, site, self.now(), state,
                       self.settings)

    def _respond(self, req: Request, state: SiteState) -> tuple[ParseResult, Response]:
        text = (req.text or "").strip()
        empty = ParseResult(text, "out_of_scope", 0.0, empty_slots())
        if not text:
            return empty, Response("I didn't catch that.", ok=False, error="empty request")
        if len(text) > MAX_TEXT:
            msg = (f"That is too long for me: please keep a request under {MAX_TEXT} "
                   "characters.")
            return ParseResult(text[:MAX_TEXT], "out_of_scope", 0.0, empty_slots()), Response(
                msg, ok=False, error=f"request of {len(text)} characters; the limit is {MAX_TEXT}")
        ctx = self._context(req.site, state)
        if state.ringing and STOP_ALARM.match(text):
            state.stop_ringing()
            return ParseResult(text, "alarm.stop", 1.0, empty_slots()), Response("OK, alarm stopped.")
        follow = state.pending(self.cfg.scheduler.dialogue_timeout_s)
        if follow is not None:
            answered = self._answer(text, follow, ctx, state)
            if answered is not None:
                return answered
        if SNOOZE_RE.match(text):
            parsed = self._slots(ParseResult(text, "reminder.snooze", 1.0, empty_slots()), ctx)
            return parsed, self.intents["reminder.snooze"].handle(ctx, parsed)
        parsed = self.parser.parse(text, ctx.now.replace(tzinfo=None), self.zone)
        skill = self.intents.get(parsed.intent)
        if parsed.intent == "out_of_scope" or skill is None:
            return parsed, Response("Sorry, I can't help with that.", ok=False,
                                    error="not understood: out of scope")
        if parsed.unresolved and _creates(parsed.intent):
            return parsed, unresolved_reply(parsed)
        resp = skill.handle(ctx, parsed)
        return parsed, self._more(ctx, parsed, resp)

    def _more(self, ctx: Context, parsed: ParseResult, resp: Response) -> Response:
        """Create the further items of one request ("at 6 and again at 8", two timers)."""
        if not (parsed.more and resp.ok and resp.follow_up is None and _creates(parsed.intent)):
            return resp
        speech, items, ok = [resp.speech], list(resp.items), True
        for extra in parsed.more:
            skill = self.intents.get(extra["intent"])
            if skill is None:
                continue
            sub = ParseResult(parsed.text, extra["intent"], extra.get("confidence", parsed.confidence),
                              dict(extra["slots"]))
            r = skill.handle(ctx, sub)
            speech.append(r.speech)
            items += r.items
            ok = ok and r.ok
        return replace(resp, speech=" ".join(speech), items=items,
                       ok=ok, error=None if ok else "some of the items were not set")

    def _slots(self, parsed: ParseResult, ctx: Context) -> ParseResult:
        res = extract_slots(parsed.text, parsed.intent, ctx.now, self.settings)
        return replace(parsed, slots=res.slots, error=res.error)

    def _answer(self, text: str, follow: FollowUp, ctx: Context,
                state: SiteState) -> tuple[ParseResult, Response] | None:
        """The reply to a question we asked, or None when the user moved on."""
        base = ParseResult(text, follow.intent, 1.0, dict(follow.slots))
        if follow.kind == "confirm":
            state.follow_up = None
            if YES.match(text) and follow.action is not None:
                return base, follow.action(ctx)
            if NO.match(text):
                return base, Response("OK, I'll leave them.")
            return None
        if NO.match(text) and len(text.split()) <= 3:
            state.follow_up = None
            return base, Response("OK, never mind.")
        res = extract_slots(text, follow.intent, ctx.now, self.settings)
        merged = dict(follow.slots)
        if follow.missing == "subject":
            p = self.parser.parse(text, ctx.now.replace(tzinfo=None), self.zone)
            if _is_new_request(p, follow):
                state.follow_up = None  # "what time is it" answers no question: serve it as asked
                return None
            subject = re.sub(r"^(to|about|that|for)\s+", "", text.strip(" .!?"), flags=re.IGNORECASE)
            if p.intent == follow.intent and p.slots.get("subject"):
                subject = p.slots["subject"]  # "remind me to call mom" -> "call mom"
            merged["subject"] = subject
        elif follow.missing == "when":
            if not (res.slots.get("when") or res.slots.get("recurrence")) and not res.error:
                state.follow_up = None
                return None
            for key in ("when", "recurrence"):
                merged[key] = res.slots.get(key)
        elif follow.missing == "duration_s":
            if not res.slots.get("duration_s") and not res.error:
                state.follow_up = None
                return None
            merged["duration_s"] = res.slots.get("duration_s")
            merged["when"] = res.slots.get("when")
        state.follow_up = None
        parsed = ParseResult(text, follow.intent, 1.0, merged, error=res.error)
        return parsed, self.intents[follow.intent].handle(ctx, parsed)

    # -- events -----------------------------------------------------------------------
    def _event(self, item: Item, late_s: float, fired_ts: float) -> Event:
        """The event of one firing; the same inputs give the same JSON (it is built twice:
        once for the outbox inside the firing transaction, once for the listeners)."""
        return Event(
            type=EVENT_TYPES[item.kind], id=item.id, subject=item.subject or item.label,
            due=item.due.isoformat(timespec="seconds"),
            fired_at=datetime.fromtimestamp(fired_ts, self.zone).isoformat(timespec="milliseconds"),
            late_s=late_s, site=item.site, speech=self._announcement(item, late_s),
            event_id=f"{item.id}-{item.fire_count + 1}", outboxed=self.outbox,
        )

    def _record_fire(self, item: Item, late_s: float, fired_ts: float) -> dict[str, Any] | None:
        return self._event(item, late_s, fired_ts).to_record() if self.outbox else None

    def _on_fire(self, item: Item, late_s: float, fired_ts: float) -> None:
        state = self.dialogues.site(item.site)
        event = self._event(item, late_s, fired_ts)
        state.last_fired = item
        state.last_fired_ts = time.monotonic()
        self._shared_dialogue(state, load=False)
        log.info("%s %s (%r) fired on %s, %.3f s late", item.kind, item.id, event.subject,
                 item.site, late_s)
        self._emit(event)
        if item.kind == "alarm":
            self._ring(event, state)

    def _after_fires(self, count: int) -> None:
        """Once per batch of fired items, not once per item: 1,000 timers due at once cost
        one state update and one outbox drain, not a thousand."""
        if self.outbox:
            for poke in list(self.outbox_listeners):
                try:
                    poke()
                except Exception:
                    log.exception("outbox listener %r failed", poke)
        self._changed()

    def _announcement(self, item: Item, late_s: float) -> str:
        what = phrasing.spoken_subject(item.subject or item.label)
        late = " (sorry, this is late)" if late_s > 60 else ""
        if item.kind == "reminder":
            return f"Reminder: {what}.{late}" if what else f"This is your reminder.{late}"
        if item.kind == "timer":
            name = f"{item.label} timer" if item.label else "timer"
            return f"Your {name} is done."
        if item.kind == "alarm":
            name = f" {item.label}" if item.label else ""
            return f"Wake up! It's {phrasing.clock(self.now())}.{name}".strip()
        when = phrasing.clock(item.due.astimezone(self.zone))
        return f"Coming up at {when}: {what}.{late}"

    def _ring(self, event: Event, state: SiteState) -> None:
        """A ringing alarm repeats its event until stopped, snoozed or timed out.

        One ringing per alarm: a new occurrence of a recurring alarm replaces the older one,
        so "stop" silences every ringing of it."""
        stop = threading.Event()
        repeat, timeout = self.cfg.scheduler.alarm_repeat_s, self.cfg.scheduler.alarm_timeout_s

        def loop() -> None:
            deadline = time.monotonic() + timeout
            n = 0
            while not stop.wait(repeat) and time.monotonic() < deadline:
                n += 1
                self._emit(replace(event, event_id=f"{event.event_id}-r{n}", outboxed=False))
            if state.ringing.get(event.id) is stop.set:
                state.ringing.pop(event.id, None)

        older = state.ringing.get(event.id)
        if older is not None:
            older()
        state.ringing[event.id] = stop.set
        threading.Thread(target=loop, name=f"ring-{event.id}", daemon=True).start()

    def _emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed for %s", listener, event.id)

    def _changed(self) -> None:
        for listener in list(self.change_listeners):
            try:
                listener()
            except Exception:
                log.exception("state listener %r failed", listener)

    # -- inspection -------------------------------------------------------------------
    def entity_state(self) -> dict[str, Any]:
        """HA sensor values from index-backed aggregates (no scan of every pending item)."""
        summary = self.store.pending_summary()
        by_kind = summary["by_kind"]
        nxt = summary["next_not_timer"]
        return {
            "next_reminder": nxt.fire_at.isoformat(timespec="seconds") if nxt else None,
            "next_subject": (nxt.subject or nxt.label) if nxt else None,
            "pending_reminders": sum(n for k, n in by_kind.items() if k != "timer"),
            "active_timers": by_kind.get("timer", 0),
        }

    def stats(self) -> dict[str, Any]:
        return collect_stats(self.store, self.started, list(self.latencies_ms),
                             self.scheduler.lateness if self.scheduler else [])


def collect_stats(store: Store, started: float | None, latencies_ms: list[float],
                  lateness: Any = ()) -> dict[str, Any]:
    """The `assistant status` / `{root}/stats` figures."""
    summary = store.pending_summary()
    counts = store.counts()
    nxt = summary["next"]
    lat = sorted(latencies_ms)
    late = sorted(lateness)
    return {
        "uptime_s": round(time.time() - started, 1) if started else None,
        "pending": summary["total"],
        "pending_by_kind": summary["by_kind"],
        "next_due": nxt.fire_at.isoformat(timespec="seconds") if nxt else None,
        "next_subject": (nxt.subject or nxt.label) if nxt else None,
        "fired": counts.get("fired", 0),
        "late": counts.get("late", 0),
        "missed": counts.get("missed", 0),
        "requests": len(lat),
        "latency_ms_p50": round(statistics.median(lat), 2) if lat else None,
        "latency_ms_p95": round(lat[int(0.95 * (len(lat) - 1))], 2) if lat else None,
        "lateness_ms_p99": round(late[int(0.99 * (len(late) - 1))] * 1000, 1) if late else None,
    }
