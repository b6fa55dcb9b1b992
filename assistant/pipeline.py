"""The one text entry point: MQTT, the CLI and the microphone all end up in `Assistant.handle`.

text -> dialogue state (a pending question? a ringing alarm?) -> NLU -> skill -> store
(+ scheduler) -> Reply. The skills come from the registry (`assistant.skill`); this module
imports none of them. When the scheduler fires an item, `Assistant` turns it into an
`Event` as the item's kind describes it (`assistant.kinds`), remembers it on its site
(for "snooze"), and hands it to every listener (MQTT publisher, speaker).
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

from assistant.config import Config
from assistant.dialogue import NO, YES, Dialogues, SiteState
from assistant.events import Event, ParseResult, Reply, Request, empty_slots
from assistant.kinds import KINDS
from assistant.skill import Context, FollowUp, Intent, Registry, Response, load_registry
from assistant.store.db import Item, Store, StoreError
from assistant.store.factory import open_store
from assistant.timeparse import TimeSettings, extract_slots

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # a spoken request is far shorter; longer ones are refused, not cut
EventListener = Callable[[Event], None]
StateListener = Callable[[str, Any], None]  # (subtopic, JSON payload): retained skill state
RING_POLL_S = 0.2  # how often the ringer looks at the clock
SUBTOPIC = re.compile(r"^[a-z][a-z0-9_]*(/[a-z0-9_]+)*$")
RESERVED_TOPICS = ("status", "stats", "state", "hermes")
NEW_REQUEST_MIN = 0.6  # classifier confidence for a follow-up answer to count as a new request


def _creates(spec: Any) -> bool:
    """Whether an intent makes new items (its SlotSpec asks for a new moment or a countdown)."""
    return spec is not None and spec.when in ("moment", "countdown")


def _is_new_request(p: ParseResult, follow: FollowUp) -> bool:
    """An answer to "What should I remind you about?" that is a full request of its own
    ("what time is it", "remind me to call mom at 5") is that request, not a subject."""
    if p.intent == "out_of_scope" or p.confidence < NEW_REQUEST_MIN:
        return False
    if p.intent != follow.intent:
        return True
    return bool(p.slots.get("when") or p.slots.get("recurrence"))


def unresolved_reply(parsed: ParseResult, countdown: bool = False, ask: str = "") -> Response:
    """Never silently wrong: say which words we could not turn into a time, store nothing,
    and ask for a time instead (the answer fills the same request). `ask` is the skill's
    own question when it has one ("When should I remind you?")."""
    words = " and ".join(f'"{u}"' for u in parsed.unresolved)
    ask = ask or ("How long should the timer run?" if countdown else "When should it be?")
    slots = {**parsed.slots, "when": None, "recurrence": None}
    slots.pop("end", None)
    missing = "duration_s" if countdown else "when"
    return Response(f"I can't tell the time from {words}, so I haven't set anything. {ask}",
                    ok=False, error="unresolved: " + "; ".join(parsed.unresolved),
                    follow_up=FollowUp("slot", parsed.intent, slots, missing=missing))


class Assistant:
    """Owns the store, the skills, the parser and (in the daemon) the scheduler."""

    def __init__(self, cfg: Config, parser: Any = None, store: Store | None = None,
                 schedule: bool = False, clock: Callable[[], float] = time.time,
                 registry: Registry | None = None) -> None:
        self.cfg = cfg
        self.settings = TimeSettings.from_config(cfg)
        self.zone = self.settings.zone
        self.clock = clock
        self.registry = registry or getattr(parser, "registry", None) or load_registry(cfg)
        self.store = store or open_store(cfg)
        if parser is None:
            from assistant.nlu.parser import Parser

            parser = Parser(cfg, registry=self.registry)
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
        self.state_listeners: list[StateListener] = []
        self._shared: dict[str, Any] = {}  # subtopic -> last payload, replayed to new listeners
        # Set by the daemon when an MQTT publisher drains the store's outbox: fired events
        # are then recorded in the firing transaction and survive a crash until delivered.
        self.outbox = False
        self.outbox_listeners: list[Callable[[], None]] = []
        self.latencies_ms: deque[float] = deque(maxlen=500)
        self.started = time.time()
        self.restored: dict[str, int] = {}
        self._lock = threading.RLock()
        self._ring_lock = threading.Lock()
        self._ringing: dict[tuple[str, str], list[Any]] = {}  # (site, event id) -> state
        self._ring_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        if self.scheduler is not None:
            self.restored = self.scheduler.start()
        state = self.dialogues.site(self.cfg.mqtt.site)
        for skill in self.registry.skills:
            try:
                skill.start(self._context(self.cfg.mqtt.site, state))
            except Exception:
                log.exception("skill %s failed at start (%s); it keeps serving requests",
                              skill.name, skill.origin)

    def add_state_listener(self, listener: StateListener) -> None:
        """Receive every skill's retained state (e.g. the shopping list), the last first."""
        self.state_listeners.append(listener)
        for subtopic, payload in list(self._shared.items()):
            listener(subtopic, payload)

    def _share(self, subtopic: str, payload: Any) -> None:
        if not SUBTOPIC.match(subtopic) or subtopic.split("/")[0] in RESERVED_TOPICS \
                or subtopic.split("/")[0] in self.cfg.sites():
            raise ValueError(f"cannot share state on {subtopic!r}: expected a name of your own "
                             f"(letters, digits, _ and /), not {', '.join(RESERVED_TOPICS)} "
                             "or a site name")
        self._shared[subtopic] = payload
        for listener in list(self.state_listeners):
            try:
                listener(subtopic, payload)
            except Exception:
                log.exception("state listener %r failed for %s", listener, subtopic)

    def share(self, subtopic: str, payload: Any) -> None:
        """Publish retained state from outside a skill handler (the web page's shopping list)."""
        self._share(subtopic, payload)

    def stop(self) -> None:
        self._stopping.set()
        for state in self.dialogues.all():
            state.stop_ringing()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.store.close()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.zone)

    def parse(self, text: str) -> ParseResult:
        """Intent and slots on the assistant's own clock and zone (Hermes NLU queries)."""
        return self.parser.parse(text, self.now().replace(tzinfo=None), self.zone)

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
                       self.settings, publish=self._share)

    def _run(self, intent: Intent, ctx: Context, parsed: ParseResult) -> Response:
        """One handler call: its writes commit together, or not at all when it raises."""
        skill = self.registry.owner[intent.name]
        try:
            with self.store.transaction():  # nested: a savepoint of handle()'s
                resp = intent.handler(ctx, parsed)
        except StoreError:
            raise
        except Exception as exc:
            log.exception("skill %s (%s) failed on %s for %r", skill.name, skill.origin,
                          intent.name, parsed.text)
            return Response(f"Sorry, something went wrong with {skill.name}.", ok=False,
                            error=f"skill {skill.name} failed: {type(exc).__name__}: {exc}")
        ctx.committed()
        return resp

    def _shortcut(self, text: str, state: SiteState, when: str) -> Intent | None:
        for intent in self.registry.shortcuts():
            if intent.shortcut_when == when and intent.shortcut is not None \
                    and intent.shortcut.match(text):
                return intent
        return None

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
        ringing = self._shortcut(text, state, "ringing") if state.ringing else None
        if ringing is not None:
            return ParseResult(text, ringing.name, 1.0, empty_slots()), self._run(
                ringing, ctx, ParseResult(text, ringing.name, 1.0, empty_slots()))
        follow = state.pending(self.cfg.scheduler.dialogue_timeout_s)
        if follow is not None:
            answered = self._answer(text, follow, ctx, state)
            if answered is not None:
                return answered
        shortcut = self._shortcut(text, state, "always")
        if shortcut is not None:
            parsed = self._slots(ParseResult(text, shortcut.name, 1.0, empty_slots()), ctx)
            return parsed, self._run(shortcut, ctx, parsed)
        parsed = self.parse(text)
        intent = self.registry.intents.get(parsed.intent)
        if parsed.intent == "out_of_scope" or intent is None:
            return parsed, Response("Sorry, I can't help with that.", ok=False,
                                    error="not understood: out of scope")
        spec = self.registry.slot_spec(parsed.intent)
        if parsed.unresolved and _creates(spec):
            owner = self.registry.owner[parsed.intent]
            ask = owner.ask_when() if callable(getattr(owner, "ask_when", None)) else ""
            return parsed, unresolved_reply(parsed, countdown=spec.when == "countdown", ask=ask)
        resp = self._run(intent, ctx, parsed)
        return parsed, self._more(ctx, parsed, resp)

    def _more(self, ctx: Context, parsed: ParseResult, resp: Response) -> Response:
        """Create the further items of one request ("at 6 and again at 8", two timers)."""
        if not (parsed.more and resp.ok and resp.follow_up is None
                and _creates(self.registry.slot_spec(parsed.intent))):
            return resp
        speech, items, ok = [resp.speech], list(resp.items), True
        for extra in parsed.more:
            intent = self.registry.intents.get(extra["intent"])
            if intent is None:
                continue
            sub = ParseResult(parsed.text, extra["intent"],
                              extra.get("confidence", parsed.confidence), dict(extra["slots"]))
            r = self._run(intent, ctx, sub)
            speech.append(r.speech)
            items += r.items
            ok = ok and r.ok
        return replace(resp, speech=" ".join(speech), items=items,
                       ok=ok, error=None if ok else "some of the items were not set")

    def _slots(self, parsed: ParseResult, ctx: Context) -> ParseResult:
        """The slots `parsed.intent` declares, on the request's clock and zone."""
        res = extract_slots(parsed.text, self.registry.slot_spec(parsed.intent), ctx.now,
                            self.settings)
        return replace(parsed, slots=res.slots, error=res.error)

    def _answer(self, text: str, follow: FollowUp, ctx: Context,
                state: SiteState) -> tuple[ParseResult, Response] | None:
        """The reply to a question we asked, or None when the user moved on."""
        base = ParseResult(text, follow.intent, 1.0, dict(follow.slots))
        if follow.kind == "confirm":
            state.follow_up = None
            if YES.match(text) and follow.action is not None:
                return base, self._run_action(follow, ctx, base)
            if NO.match(text):
                return base, Response("OK, I'll leave them.")
            return None
        if NO.match(text) and len(text.split()) <= 3:
            state.follow_up = None
            return base, Response("OK, never mind.")
        res = extract_slots(text, self.registry.slot_spec(follow.intent), ctx.now, self.settings)
        merged = dict(follow.slots)
        if follow.missing == "subject":
            p = self.parse(text)
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
        intent = self.registry.intents.get(follow.intent)
        if intent is None:
            return parsed, Response("Sorry, I can't help with that any more.", ok=False,
                                    error=f"no skill handles {follow.intent}")
        return parsed, self._run(intent, ctx, parsed)

    def _run_action(self, follow: FollowUp, ctx: Context, parsed: ParseResult) -> Response:
        """A confirmed action ("yes, cancel them all"), run like a handler."""
        assert follow.action is not None
        action = follow.action
        intent = self.registry.intents.get(follow.intent)
        if intent is None:
            return Response("Sorry, I can't do that any more.", ok=False,
                            error=f"no skill handles {follow.intent}")
        return self._run(replace(intent, handler=lambda c, p: action(c)), ctx, parsed)

    # -- events -----------------------------------------------------------------------
    def _event(self, item: Item, late_s: float, fired_ts: float) -> Event:
        """The event of one firing, as the item's kind describes it; the same inputs give the
        same JSON (built twice: for the outbox inside the firing transaction, and for the
        listeners)."""
        kind = KINDS.get(item.kind)
        return Event(
            type=kind.event_type if kind else f"{item.kind}.due", id=item.id,
            subject=item.subject or item.label,
            due=item.due.isoformat(timespec="seconds"),
            fired_at=datetime.fromtimestamp(fired_ts, self.zone).isoformat(timespec="milliseconds"),
            late_s=late_s, site=item.site, speech=self._announcement(item, late_s),
            event_id=f"{item.id}-{item.fire_count + 1}", outboxed=self.outbox,
        )

    def _record_fire(self, item: Item, late_s: float, fired_ts: float) -> dict[str, Any] | None:
        return self._event(item, late_s, fired_ts).to_record() if self.outbox else None

    def _on_fire(self, item: Item, late_s: float, fired_ts: float) -> None:
        state = self.dialogues.site(item.site)
        kind = KINDS.get(item.kind)
        event = self._event(item, late_s, fired_ts)
        state.last_fired = item
        state.last_fired_ts = time.monotonic()
        self._shared_dialogue(state, load=False)
        log.info("%s %s (%r) fired on %s, %.3f s late", item.kind, item.id, event.subject,
                 item.site, late_s)
        self._emit(event)
        if kind is not None and kind.rings:
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
        """The words the item's kind speaks when it fires (its skill's wording)."""
        kind = KINDS.get(item.kind)
        if kind is None:  # stored by a skill that is no longer loaded
            what = item.subject or item.label
            return f"{item.kind.capitalize()}: {what}." if what else f"Your {item.kind} is due."
        try:
            return kind.announce(item, late_s, self.now())
        except Exception:
            log.exception("announcement of kind %s failed for %s", item.kind, item.id)
            return f"{item.kind.capitalize()}: {item.subject or item.label or ''}".strip()

    def _ring(self, event: Event, state: SiteState) -> None:
        """A ringing kind repeats its event until stopped, snoozed or timed out, on the
        assistant's clock: `ring_tick` does the repeating; a light thread calls it.
        One ringing per item: a newer occurrence of a recurring alarm replaces the older
        one, so "stop" silences it. Repeats carry `<event_id>-r<n>` and skip the outbox."""
        now = self.clock()
        key = (state.site, event.id)
        with self._ring_lock:
            self._ringing[key] = [event, now + self.cfg.scheduler.alarm_repeat_s,
                                  now + self.cfg.scheduler.alarm_timeout_s, state, 0]

        def stop() -> None:
            with self._ring_lock:
                self._ringing.pop(key, None)

        state.ringing[event.id] = stop
        if self._ring_thread is None:
            self._ring_thread = threading.Thread(target=self._ring_loop, name="ringer",
                                                 daemon=True)
            self._ring_thread.start()

    def ring_tick(self) -> int:
        """Repeat every ringing event whose time has come; drop the timed-out ones."""
        now = self.clock()
        due = []
        with self._ring_lock:
            for key, entry in list(self._ringing.items()):
                event, next_ts, deadline, state, n = entry
                if now >= deadline:
                    del self._ringing[key]
                    state.ringing.pop(event.id, None)
                elif now >= next_ts:
                    entry[1] = now + self.cfg.scheduler.alarm_repeat_s
                    entry[4] = n + 1
                    due.append(replace(event, event_id=f"{event.event_id}-r{n + 1}",
                                       outboxed=False))
        for event in due:
            self._emit(event)
        return len(due)

    def _ring_loop(self) -> None:
        while not self._stopping.wait(RING_POLL_S):
            self.ring_tick()

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
        """The HA sensors' state (each kind says which sensor counts it), from index-backed
        aggregates: no scan of every pending item per event or reply."""
        reminder_kinds = KINDS.counted_by("pending_reminders")
        summary = self.store.pending_summary(among=reminder_kinds)
        by_kind = summary["by_kind"]
        nxt = summary["next_among"]
        timer_kinds = KINDS.counted_by("active_timers")
        return {
            "next_reminder": nxt.fire_at.isoformat(timespec="seconds") if nxt else None,
            "next_subject": (nxt.subject or nxt.label) if nxt else None,
            "pending_reminders": sum(n for k, n in by_kind.items() if k in reminder_kinds),
            "active_timers": sum(n for k, n in by_kind.items() if k in timer_kinds),
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
    by_kind = {k: summary["by_kind"].get(k, 0) for k in dict.fromkeys([*KINDS, *summary["by_kind"]])}
    return {
        "uptime_s": round(time.time() - started, 1) if started else None,
        "pending": summary["total"],
        "pending_by_kind": by_kind,
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
