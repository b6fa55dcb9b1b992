"""MqttService: the daemon's MQTT face (commands in, replies and events out, HA, Hermes).

Threads: paho's network thread only sorts messages, applies the per-site rate limit and
queues work; a few worker threads (a site always maps to the same one, so each site's
commands are served in order) run the pipeline and publish the reply, then acknowledge the
command. A handler that raises is logged and answered `ok: false`; nothing stops the loop.

Guarantees (DESIGN.md): every command gets exactly one reply (served, refused, or `busy`
with a retry hint when over the rate limit or the queue is full) and is always
acknowledged; a command id seen before gets the recorded reply and no second action (the
record commits with the action, see `Assistant.handle`); the reply is published before the
command's acknowledgement on the same connection, so a crash in between means the broker
redelivers the command and the recorded reply goes out again. Fired events come from the
store's outbox (`OutboxPublisher`), at least once, with a stable `event_id`.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from assistant.config import Config
from assistant.events import Event, ParseResult, Reply, Request, empty_slots
from assistant.mqtt import discovery, hermes
from assistant.mqtt.client import Connection
from assistant.mqtt.identity import DiscoveryLedger
from assistant.mqtt.outbox import OutboxPublisher
from assistant.mqtt.payloads import PayloadError, check_site, parse_command
from assistant.mqtt.ratelimit import SiteLimiter

log = logging.getLogger("assistant.mqtt")

WORKERS = 4
QUEUE_PER_WORKER = 2000
AUDIO_QUEUE = 500
MAX_AUDIO_BYTES = 4 * 1024 * 1024
RECENT_REPLIES = 1024
# After resuming a session, the broker hands over what was queued while we were away all at
# once; that backlog is served in full instead of being cut by the flood limit.
BACKLOG_GRACE_S = 5.0


class _Worker:
    """A thread running queued jobs in order; stop() discards what has not started."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.q: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], None]) -> bool:
        try:
            self.q.put_nowait(job)
            return True
        except queue.Full:
            return False

    def _run(self) -> None:
        while True:
            job = self.q.get()
            if job is None or self.stopping:
                return
            try:
                job()
            except Exception:
                log.exception("unexpected error in an MQTT worker; it goes on")

    def stop(self) -> None:
        self.stopping = True
        try:
            self.q.put_nowait(None)
        except queue.Full:
            pass

    def join(self, timeout: float) -> None:
        self.thread.join(max(0.0, timeout))


class MqttService:
    """Serves `{root}/{site}/command`, publishes replies, events, stats and HA state."""

    def __init__(self, cfg: Config, handle: Callable[[Request], Reply],
                 parse: Callable[[str], ParseResult] | None = None,
                 on_audio: Callable[[str, bytes], None] | None = None,
                 store: Any = None,
                 awaiting: Callable[[str], bool] | None = None,
                 ledger: DiscoveryLedger | None = None) -> None:
        self.cfg = cfg
        self.handle = handle
        self.parse = parse
        self.on_audio = on_audio
        # Whether the pipeline waits for the answer to a question it asked on a site
        # (Hermes: continueSession, and the next query goes to the question's skill).
        self.awaiting = awaiting
        # The discovery configs we retained before (to clear stale ones); None: not tracked.
        self.ledger = ledger
        self.root = cfg.mqtt.root
        self.hermes_handle = bool(getattr(cfg.mqtt, "hermes_handle", True))
        self.limiter = SiteLimiter(cfg.mqtt.rate_limit_per_s, cfg.mqtt.rate_burst)
        self.conn = Connection(cfg, self._on_connected, self._on_message)
        self.outbox = (OutboxPublisher(store, self._publish_record, lambda: self.conn.connected)
                       if store is not None else None)
        self._workers: list[_Worker] = []
        self._audio: _Worker | None = None
        self._state: dict[str, Any] | None = None
        self._stats: dict[str, Any] | None = None
        self._shared: dict[str, Any] = {}  # skills' retained state: subtopic -> payload
        self._recent: OrderedDict[str, tuple[bytes, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        self._grace_until = 0.0
        self.counters: dict[str, int] = {
            "received": 0, "replied": 0, "rejected": 0, "handler_errors": 0, "rate_limited": 0,
            "queue_full": 0, "duplicates": 0, "hermes_queries": 0, "events": 0, "ignored": 0,
            "busy": 0,
        }

    # -- public API ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers and connect in the background (never raises for a dead broker)."""
        if not self._workers:
            self._workers = [_Worker(f"mqtt-worker-{i}", QUEUE_PER_WORKER) for i in range(WORKERS)]
            if self.on_audio is not None:
                self._audio = _Worker("mqtt-audio", AUDIO_QUEUE)
        if self.outbox is not None:
            self.outbox.start()
        self.conn.start()

    def stop(self, timeout: float = 3) -> None:
        """Finish the command in hand, publish retained `offline`, disconnect cleanly.

        Commands queued but not started are not acknowledged, so the broker delivers them
        again when the daemon comes back (persistent session)."""
        deadline = time.monotonic() + timeout
        workers = self._workers + ([self._audio] if self._audio else [])
        for w in workers:
            w.stop()
        for w in workers:
            w.join(min(1.0, deadline - time.monotonic()))
        if self.outbox is not None:
            self.outbox.stop(min(1.0, max(0.1, deadline - time.monotonic())))
        self.conn.stop(max(0.2, deadline - time.monotonic()))
        self._workers, self._audio = [], None

    @property
    def connected(self) -> bool:
        return self.conn.connected

    def wait_connected(self, timeout: float = 10) -> bool:
        """True once connected and subscribed (commands sent after this are served)."""
        deadline = time.monotonic() + timeout
        return (self.conn.wait_connected(timeout)
                and self.conn.wait_subscribed(max(0.0, deadline - time.monotonic())))

    def publish_event(self, event: Event) -> list[mqtt.MQTTMessageInfo]:
        """`{root}/{site}/event` (QoS 1), plus the HA event entity's stream when discovery is on."""
        site = event.site if check_site(event.site, [], True) is None else self.cfg.mqtt.site
        self._count("events")
        infos = [self._publish_info(f"{self.root}/{site}/event", event.to_json())]
        if self.cfg.mqtt.discovery:
            infos.append(self._publish_info(discovery.events_topic(self.cfg),
                                            discovery.event_payload(event)))
        return [i for i in infos if i is not None]

    def _publish_record(self, record: dict[str, Any]) -> list[mqtt.MQTTMessageInfo]:
        return self.publish_event(Event.from_record(record))

    def poke_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.poke()

    def publish_stats(self, stats: dict[str, Any]) -> None:
        """Retained JSON on `{root}/stats`, with this service's own counters under "mqtt"."""
        merged = dict(stats)
        merged.setdefault("mqtt", self.snapshot())
        self._stats = merged
        self._publish_json(f"{self.root}/stats", merged, retain=True)

    def update_state(self, state: dict[str, Any]) -> None:
        """HA entity states (next reminder, pending reminders, active timers), retained."""
        self._state = discovery.state_payload(state)
        self._publish_json(discovery.state_topic(self.cfg), self._state, retain=True)

    def publish_shared(self, subtopic: str, payload: Any) -> None:
        """A skill's state, retained JSON on `{root}/{subtopic}` (e.g. the shopping list)."""
        self._shared[subtopic] = payload
        self._publish_json(f"{self.root}/{subtopic}", payload, retain=True)

    def say(self, site: str, text: str) -> None:
        """Speak through a Hermes TTS service (`hermes/tts/say`)."""
        self._publish_json(hermes.TTS_SAY, hermes.say_message(site, text))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self.counters)
        out["connected"] = self.connected
        out["reconnects"] = self.conn.reconnects
        return out

    # -- connection ---------------------------------------------------------------------
    def _on_connected(self, session_present: bool) -> None:
        m = self.cfg.mqtt
        if session_present:
            self._grace_until = time.monotonic() + BACKLOG_GRACE_S
        # [mqtt] shared_group: the broker hands each command to one daemon of the group.
        share = f"$share/{m.shared_group}/" if m.shared_group else ""
        optional = {f"{share}{self.root}/+/audio": (self.on_audio is not None, 0),
                    share + hermes.QUERY: (m.hermes, 1),
                    discovery.birth_topic(self.cfg): (m.discovery, 1)}
        self.conn.subscribe([(f"{share}{self.root}/+/command", 1)]
                            + [(t, q) for t, (on, q) in optional.items() if on])
        if session_present:  # a resumed session keeps what an older config subscribed to
            self.conn.unsubscribe([t for t, (on, _) in optional.items() if not on])
        self.conn.publish(discovery.status_topic(self.cfg), "online", qos=1, retain=True)
        if self.outbox is not None:
            self.outbox.reconnected()
        if m.discovery:
            self._publish_discovery()
        else:
            self._retract_discovery(set())
        if not m.discovery and self._state is not None:
            self._publish_json(discovery.state_topic(self.cfg), self._state, retain=True)
        if self._stats is not None:
            self._publish_json(f"{self.root}/stats", self._stats, retain=True)
        for subtopic, payload in list(self._shared.items()):
            self._publish_json(f"{self.root}/{subtopic}", payload, retain=True)

    def _publish_discovery(self) -> None:
        current = discovery.configs(self.cfg)
        for topic, payload in current:
            self._publish_json(topic, payload, retain=True)
        self._retract_discovery({t for t, _ in current})
        if self._state is None:
            self._state = discovery.state_payload({})
        self._publish_json(discovery.state_topic(self.cfg), self._state, retain=True)

    def _retract_discovery(self, current: set[str]) -> None:
        """Clear (empty retained payload) the configs we announced before and no longer do:
        discovery turned off, or a changed root, client id, host name or prefix."""
        if self.ledger is None:
            return
        try:
            stale = self.ledger.topics() - current
            for topic in sorted(stale):
                self.conn.publish(topic, b"", qos=1, retain=True)
            if stale:
                log.info("removed %d stale Home Assistant discovery configs", len(stale))
            self.ledger.replace(current)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not read or record the discovery configs in %s: %s",
                        self.ledger.db_path, exc)

    # -- dispatch (network thread: no blocking work here) ---------------------------------
    def _on_message(self, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        parts = topic.split("/")
        if len(parts) == 3 and parts[0] == self.root and parts[2] == "command":
            self._on_command(msg, parts[1])
        elif len(parts) == 3 and parts[0] == self.root and parts[2] == "audio" and self.on_audio:
            self._on_audio(msg, parts[1])
        elif topic == hermes.QUERY and self.cfg.mqtt.hermes:
            self._on_hermes(msg)
        elif self.cfg.mqtt.discovery and topic == discovery.birth_topic(self.cfg):
            self.conn.ack(msg)
            if msg.payload == b"online":
                log.info("Home Assistant came online; sending discovery again")
                self._publish_discovery()
        else:
            self._count("ignored")
            self.conn.ack(msg)

    def _shard(self, site: str) -> _Worker:
        return self._workers[zlib.crc32(site.encode("utf-8", "replace")) % len(self._workers)]

    def _enqueue(self, site: str, msg: mqtt.MQTTMessage, job: Callable[[], None],
                 busy: Callable[[str, float], None] | None = None) -> None:
        """Queue a job for the site's worker; when it cannot be taken, answer `busy`."""
        if not self._workers:
            self.conn.ack(msg)
            return
        if time.monotonic() >= self._grace_until and not self.limiter.allow(site):
            self._count("rate_limited")
            self._refuse(msg, site, busy, f"busy: site {site[:64]!r} sent more than "
                         f"{self.cfg.mqtt.rate_limit_per_s:g} commands per second "
                         "([mqtt] rate_limit_per_s)", max(1.0, 1.0 / max(0.01, self.limiter.rate)))
            return
        if not self._shard(site).submit(job):
            self._count("queue_full")
            self._warn_once("queue", f"site {site!r}: command queue full ({QUEUE_PER_WORKER}); "
                            "answering 'busy' (the handler is too slow for this load)")
            self._refuse(msg, site, busy, "busy: too many commands waiting", 2.0)

    def _refuse(self, msg: mqtt.MQTTMessage, site: str,
                busy: Callable[[str, float], None] | None, reason: str, retry_s: float) -> None:
        self._count("busy")
        try:
            if busy is not None:
                busy(f"{reason}; retry in {retry_s:g} s", retry_s)
        except Exception:
            log.exception("could not answer a refused message on %s", msg.topic[:100])
        finally:
            self.conn.ack(msg)

    def _on_command(self, msg: mqtt.MQTTMessage, site: str) -> None:
        self._count("received")
        self._enqueue(site, msg, lambda: self._serve_command(msg, site),
                      lambda reason, retry: self._reply_busy(msg, site, reason, retry))

    def _reply_busy(self, msg: mqtt.MQTTMessage, site: str, reason: str, retry_s: float) -> None:
        """`ok: false` with a retry hint, so a flow waiting for its id never hangs."""
        raw_id = None
        try:
            raw_id = parse_command(msg.payload, site, self.cfg.mqtt.max_payload_bytes).raw_id
        except PayloadError as exc:
            raw_id = exc.id
        body = {"id": raw_id, "ok": False, "intent": None, "slots": empty_slots(), "speech": "",
                "error": reason, "retry_after_s": retry_s}
        for topic, props in self._reply_routes(msg, site):
            self._publish_json(topic, body, properties=props)

    def _on_audio(self, msg: mqtt.MQTTMessage, site: str) -> None:
        self.conn.ack(msg)
        problem = check_site(site, self.cfg.sites(), self.cfg.mqtt.accept_any_site)
        if problem or len(msg.payload) > MAX_AUDIO_BYTES or self._audio is None:
            self._warn_once("audio", f"audio on {msg.topic} ignored: "
                            f"{problem or f'more than {MAX_AUDIO_BYTES} bytes'}")
            return
        payload, cb = bytes(msg.payload), self.on_audio
        assert cb is not None

        def job() -> None:
            try:
                cb(site, payload)
            except Exception:
                log.exception("audio handler failed for site %r (%d bytes)", site, len(payload))

        if not self._audio.submit(job):
            self._warn_once("audioq", "audio queue full: the speech recognizer is falling behind; "
                            "dropping audio frames")

    def _on_hermes(self, msg: mqtt.MQTTMessage) -> None:
        self._count("hermes_queries")
        try:
            query = hermes.parse_query(msg.payload, self.cfg.mqtt.max_payload_bytes)
        except hermes.HermesError as exc:
            log.info("ignored a bad %s: %s", hermes.QUERY, exc)
            self._publish_json(hermes.ERROR_NLU, hermes.error_message("default", str(exc), None,
                                                                      msg.payload[:200].decode("utf-8", "replace")))
            self.conn.ack(msg)
            return
        problem = check_site(query["siteId"], self.cfg.sites(), self.cfg.mqtt.accept_any_site)
        if problem:  # Rhasspy's rule: a service ignores site ids it does not serve
            log.info("ignored %s: %s", hermes.QUERY, problem)
            self.conn.ack(msg)
            return
        self._enqueue(query["siteId"], msg, lambda: self._serve_hermes(msg, query),
                      lambda reason, _retry: self._publish_json(hermes.ERROR_NLU, hermes.error_message(
                          query["siteId"], reason, query["sessionId"], query["input"])))

    # -- serving (worker threads) -------------------------------------------------------
    def _reply_routes(self, msg: mqtt.MQTTMessage, site: str) -> list[tuple[str, Properties | None]]:
        """`{root}/{site}/reply` always; with MQTT 5, also the request's response topic
        (with its correlation data), so HA's "Last reply" sensor sees every reply."""
        topic = f"{self.root}/{site}/reply"
        if not self.conn.v5:
            return [(topic, None)]
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        req = getattr(msg, "properties", None)
        corr = getattr(req, "CorrelationData", None) if req is not None else None
        if corr:
            props.CorrelationData = corr
        routes: list[tuple[str, Properties | None]] = [(topic, props)]
        response_topic = getattr(req, "ResponseTopic", None) if req is not None else None
        if response_topic and response_topic != topic:
            if any(c in response_topic for c in "+#\0") or len(response_topic) > 1024:
                self._warn_once("resp", f"ignored an invalid MQTT 5 response topic "
                                f"{response_topic[:80]!r}; replying on {topic}")
            else:
                routes.append((response_topic, props))
        return routes

    @staticmethod
    def _command_key(msg: mqtt.MQTTMessage, site: str, raw_id: Any) -> str | None:
        """Who this command is, for "act once": the site plus its id, else its MQTT 5
        correlation data; None (no de-duplication) when it carries neither."""
        if raw_id is not None:
            return f"{site}\x1fid:{raw_id}"
        req = getattr(msg, "properties", None)
        corr = getattr(req, "CorrelationData", None) if req is not None else None
        if corr:
            return f"{site}\x1fcorr:{bytes(corr).hex()}"
        return None

    def _serve_command(self, msg: mqtt.MQTTMessage, site: str) -> None:
        try:
            self._answer_command(msg, site)
        finally:  # whatever happened, the broker must not redeliver it forever
            self.conn.ack(msg)

    def _answer_command(self, msg: mqtt.MQTTMessage, site: str) -> None:
        routes = self._reply_routes(msg, site)
        try:
            problem = check_site(site, self.cfg.sites(), self.cfg.mqtt.accept_any_site)
            if problem:
                raise PayloadError(problem)
            cmd = parse_command(msg.payload, site, self.cfg.mqtt.max_payload_bytes)
        except PayloadError as exc:
            self._count("rejected")
            log.info("rejected a command on site %r: %s", site[:70], exc)
            body = {"id": exc.id, "ok": False, "intent": None, "slots": empty_slots(),
                    "speech": "", "error": str(exc)}
            for topic, props in routes:
                self._publish_json(topic, body, properties=props)
            return
        key = self._command_key(msg, site, cmd.raw_id)
        cmd.request.key = key
        if msg.dup and key is not None:
            with self._lock:
                cached = self._recent.get(key)
            if cached is not None:
                self._count("duplicates")
                log.info("site %r: command id %r delivered again after a reconnect; "
                         "sending the same reply, not acting twice", site, cmd.raw_id)
                for topic, props in cached[1]:
                    self.conn.publish(topic, cached[0], qos=1, properties=props)
                return
        try:
            reply = self.handle(cmd.request)
            body = reply.to_json()
            body["id"] = cmd.raw_id
        except Exception as exc:
            self._count("handler_errors")
            log.exception("handler failed on site %r for command %r (id %r)", site,
                          cmd.request.text[:80], cmd.raw_id)
            body = {"id": cmd.raw_id, "ok": False, "intent": None, "slots": empty_slots(),
                    "speech": "Sorry, something went wrong.",
                    "error": f"internal error: {type(exc).__name__}: {exc}"}
        data = None
        for topic, props in routes:
            data = self._publish_json(topic, body, properties=props)
        self._count("replied")
        if key is not None and data is not None:
            with self._lock:
                self._recent[key] = (data, routes)
                while len(self._recent) > RECENT_REPLIES:
                    self._recent.popitem(last=False)

    def _waiting_on(self, site: str) -> bool:
        if self.awaiting is None:
            return False
        try:
            return bool(self.awaiting(site))
        except Exception:
            log.exception("dialogue state of site %r unreadable; treating as no question", site)
            return False

    def _serve_hermes(self, msg: mqtt.MQTTMessage, query: dict[str, Any]) -> None:
        site, session = query["siteId"], query["sessionId"]
        try:
            if self.hermes_handle and self._waiting_on(site):
                self._serve_hermes_answer(query)
                return
            result: ParseResult | None = None
            if self.parse is not None:
                try:
                    result = self.parse(query["input"])
                except Exception as exc:
                    log.exception("NLU failed on Hermes query %r from site %r", query["input"][:80], site)
                    self._publish_json(hermes.ERROR_NLU, hermes.error_message(
                        site, f"{type(exc).__name__}: {exc}", session, query["input"]))
                    return
                if not hermes.allowed(query, result.intent):
                    log.info("Hermes query %r on %s: %s is outside its intentFilter %s",
                             query["input"][:80], site, result.intent, query["intentFilter"])
                    self._publish_json(hermes.NOT_RECOGNIZED, hermes.not_recognized_message(query))
                    return
                self._publish_nlu(query, result)
            if not self.hermes_handle and result is not None:
                return
            try:
                reply = self.handle(Request(text=query["input"], site=site,
                                            id=None if query["id"] is None else str(query["id"]),
                                            source="hermes"))
            except Exception as exc:
                self._count("handler_errors")
                log.exception("handler failed on Hermes query %r from site %r", query["input"][:80], site)
                reply = Reply(id=None, ok=False, intent=None, slots=empty_slots(),
                              speech="Sorry, something went wrong.", error=str(exc), site=site)
            if result is None:
                result = ParseResult(query["input"], reply.intent or "out_of_scope",
                                     1.0 if reply.intent else 0.0, reply.slots or empty_slots())
                self._publish_nlu(query, result)
            if not self.hermes_handle:
                return
            self._hermes_answer(query, reply)
        finally:
            self.conn.ack(msg)

    def _serve_hermes_answer(self, query: dict[str, Any]) -> None:
        """The answer to our question: the pipeline routes it to the question's skill, and
        the intent published is that skill's (not what the answer parses as alone)."""
        site = query["siteId"]
        try:
            reply = self.handle(Request(text=query["input"], site=site,
                                        id=None if query["id"] is None else str(query["id"]),
                                        source="hermes"))
        except Exception as exc:
            self._count("handler_errors")
            log.exception("handler failed on Hermes answer %r from site %r", query["input"][:80],
                          site)
            reply = Reply(id=None, ok=False, intent=None, slots=empty_slots(),
                          speech="Sorry, something went wrong.", error=str(exc), site=site)
        intent = reply.intent
        self._publish_nlu(query, ParseResult(query["input"], intent or "out_of_scope",
                                             1.0 if intent else 0.0, reply.slots or empty_slots()))
        self._hermes_answer(query, reply)

    def _hermes_answer(self, query: dict[str, Any], reply: Reply) -> None:
        """Speak the reply: continue the session when the pipeline asked a question back,
        end it otherwise; without a session, hermes/tts/say."""
        site, session = query["siteId"], query["sessionId"]
        if session:
            if self._waiting_on(site):
                self._publish_json(hermes.CONTINUE_SESSION, hermes.continue_session_message(
                    session, reply.speech, query["customData"]))
            else:
                self._publish_json(hermes.END_SESSION, hermes.end_session_message(
                    session, reply.speech, query["customData"]))
        elif reply.speech:
            self._publish_json(hermes.TTS_SAY, hermes.say_message(site, reply.speech))

    def _publish_nlu(self, query: dict[str, Any], result: ParseResult) -> None:
        if hermes.recognized(result):
            self._publish_json(hermes.INTENT_PARSED, hermes.intent_parsed_message(query, result))
            topic, payload = hermes.intent_message(query, result)
            self._publish_json(topic, payload)
        else:
            self._publish_json(hermes.NOT_RECOGNIZED, hermes.not_recognized_message(query))

    # -- helpers ------------------------------------------------------------------------
    def _publish_json(self, topic: str, body: Any, retain: bool = False,
                      properties: Properties | None = None) -> bytes | None:
        data, _ = self._publish(topic, body, retain, properties)
        return data

    def _publish_info(self, topic: str, body: Any) -> mqtt.MQTTMessageInfo | None:
        return self._publish(topic, body)[1]

    def _publish(self, topic: str, body: Any, retain: bool = False,
                 properties: Properties | None = None
                 ) -> tuple[bytes | None, mqtt.MQTTMessageInfo | None]:
        try:
            try:
                data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate somewhere: escape it, still valid JSON
                data = json.dumps(body, ensure_ascii=True, default=str).encode("ascii")
            info = self.conn.publish(topic, data, qos=1, retain=retain, properties=properties)
            return data, info
        except (ValueError, TypeError, RecursionError) as exc:
            log.error("could not publish on %r: %s", topic[:100], exc)
            return None, None

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _warn_once(self, key: str, text: str, every_s: float = 10.0) -> None:
        now = time.monotonic()
        if now - self._warned.get(key, -1e18) >= every_s:
            self._warned[key] = now
            log.warning(text)
