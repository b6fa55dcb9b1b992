"""The long-running daemon: starts the parts in order, serves until SIGTERM, stops cleanly.

Order: config -> model (verified) -> store -> scheduler (restored from the store) -> MQTT
(non-blocking: an unreachable broker is retried in the background) -> voice (optional; a
missing microphone never stops the daemon) -> READY=1 to systemd. SIGHUP reloads the
config where it can (log level, TTS, MQTT connection); SIGTERM/SIGINT stop everything
within a few seconds, with `offline` published and the database closed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from typing import Any

from assistant import config as config_mod
from assistant import sdnotify
from assistant.config import Config
from assistant.control import status_path
from assistant.events import Event, Request

log = logging.getLogger("assistant")
OUTBOX_KEEP_S = 7 * 86400  # an event the broker never took is kept this long, then dropped


class Daemon:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.assistant: Any = None
        self.mqtt: Any = None
        self.speaker: Any = None
        self.listener: Any = None
        self.satellite: Any = None
        self.watchdog: Any = None
        self.http: Any = None
        self.wyoming: Any = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.started = time.time()

    # -- start ------------------------------------------------------------------------
    def start(self) -> None:
        from assistant.pipeline import Assistant

        t0 = time.monotonic()
        from assistant.paths import check_state_writable

        check_state_writable(self.cfg.db_path)  # one clear line instead of a raw OSError
        sdnotify.status("loading the language model")
        log.info("starting: config %s, state %s", self.cfg.source or "(defaults)", self.cfg.db_path)
        self.assistant = Assistant(self.cfg, schedule=True)
        log.info("model %s loaded in %.2f s", self.cfg.nlu.variant, time.monotonic() - t0)

        # Outputs first: items that came due while we were down fire during the restore,
        # and their events must reach MQTT (paho queues them until connected) and the speaker.
        self._start_speaker()
        self._start_mqtt()
        self.assistant.listeners.append(self._announce)
        self.assistant.change_listeners.append(self._publish_state)

        sdnotify.status("restoring the schedule")
        self.assistant.start()
        r = self.assistant.restored
        log.info("schedule restored: %d pending, %d fired late, %d missed",
                 r.get("scheduled", 0), r.get("late", 0), r.get("missed", 0))
        self._publish_state()
        self._start_voice()
        from assistant.http.service import start_http  # [http]: web page, API, ICS feed

        self.http = start_http(self.cfg, self.assistant, self.stats)
        self._start_wyoming()

        self.watchdog = sdnotify.Watchdog(self.healthy)
        self.watchdog.start()
        self._write_status()
        self._last_status_text = self.status_text()
        sdnotify.ready(self._last_status_text)
        log.info("ready in %.2f s", time.monotonic() - t0)

    def _start_speaker(self) -> None:
        from assistant.speech.tts import make_speaker

        hermes = (lambda site, text: self.mqtt.say(site, text)) if self.cfg.tts.engine == "hermes" else None
        try:
            self.speaker = make_speaker(self.cfg, hermes_say=hermes)
        except Exception as exc:
            log.error("text-to-speech disabled: %s", exc)
            self.speaker = None

    def _start_mqtt(self) -> None:
        if not self.cfg.mqtt.enabled:
            log.info("MQTT disabled by [mqtt] enabled = false")
            return
        from assistant.mqtt.identity import DiscoveryLedger
        from assistant.mqtt.service import MqttService

        self.mqtt = MqttService(self.cfg, self.assistant.handle, parse=self._parse,
                                on_audio=self._on_audio, store=self.assistant.store,
                                awaiting=self._awaiting_answer,
                                ledger=DiscoveryLedger(self.cfg.db_path))
        self.assistant.add_state_listener(self.mqtt.publish_shared)
        # Fired events go through the store's outbox from now on (see assistant/mqtt/outbox.py).
        self.assistant.outbox = True
        if self.mqtt.poke_outbox not in self.assistant.outbox_listeners:
            self.assistant.outbox_listeners.append(self.mqtt.poke_outbox)
        self.mqtt.start()

    def _start_voice(self) -> None:
        if not self.cfg.speech.enabled:
            log.info("voice input disabled by [speech] enabled = false")
            return
        try:
            from assistant.speech.microphone import Listener
            from assistant.speech.satellite import SatelliteAudio
            from assistant.speech.stt import make_recognizer

            sdnotify.status("loading the speech model")
            from assistant.speech.vocabulary import speech_phrases

            stt = make_recognizer(self.cfg, phrases=speech_phrases(self.cfg.speech.engine))
            self.satellite = SatelliteAudio(stt, self._on_voice_text)
            self.listener = Listener(self.cfg, stt, self._on_voice_text, self.cfg.mqtt.site)
            self.listener.start()
        except Exception as exc:
            log.error("voice input unavailable (%s); still serving MQTT and the scheduler. "
                      "Run `assistant doctor` for details.", exc)

    def _start_wyoming(self) -> None:
        if not self.cfg.wyoming.enabled:
            return
        from assistant.wyoming.service import WyomingService

        try:
            self.wyoming = WyomingService(self.cfg, self.assistant)
            self.wyoming.start()
        except Exception as exc:  # noqa: BLE001 - a taken port must not stop the daemon
            log.error("wyoming server not started (%s); still serving MQTT and the scheduler",
                      exc)
            self.wyoming = None
            return
        self.assistant.listeners.append(self.wyoming.on_event)
        self.assistant.change_listeners.append(self.wyoming.on_change)

    # -- glue -------------------------------------------------------------------------
    def _parse(self, text: str) -> Any:
        return self.assistant.parse(text)  # the pipeline's clock and zone, as for requests

    def _awaiting_answer(self, site: str) -> bool:
        """A question asked on `site` still waits for its answer (Hermes continueSession)."""
        state = self.assistant.dialogues.site(site)
        return state.pending(self.cfg.scheduler.dialogue_timeout_s) is not None

    def _on_audio(self, site: str, payload: bytes) -> None:
        if self.satellite is None:
            log.warning("audio from site %s ignored: voice input is not available", site)
            return
        self.satellite.feed(site, payload)

    def _on_voice_text(self, text: str, site: str) -> None:
        reply = self.assistant.handle(Request(text=text, site=site, source="voice"))
        log.info("heard on %s: %r -> %s", site, text, reply.intent)
        if self.speaker is not None and reply.speech:
            self.speaker.say(reply.speech, site)

    def _announce(self, event: Event) -> None:
        if self.mqtt is not None and not event.outboxed:  # outboxed: the publisher sends it
            self.mqtt.publish_event(event)
        if self.speaker is not None and event.speech:
            self.speaker.say(event.speech, event.site)

    def _publish_state(self) -> None:
        if self.mqtt is not None:
            self.mqtt.update_state(self.assistant.entity_state())

    def healthy(self) -> bool:
        sched = self.assistant.scheduler if self.assistant else None
        return bool(sched and sched.running)

    def stats(self) -> dict[str, Any]:
        out = self.assistant.stats()
        out["pid"] = os.getpid()
        out["mqtt_connected"] = bool(self.mqtt and self.mqtt.connected)
        if self.wyoming is not None:
            out["wyoming"] = self.wyoming.status()
        out["updated"] = time.time()
        return out

    def _heartbeat(self) -> None:
        """Several daemons on one PostgreSQL store: `assistant status` lists them all."""
        store = self.assistant.store if self.assistant else None
        if store is None or not store.shared:
            return
        from assistant.mqtt.discovery import client_id
        from assistant.store.db import StoreError

        s = self.stats()
        info = {k: s.get(k) for k in ("uptime_s", "requests", "fired", "latency_ms_p50",
                                      "mqtt_connected")}
        info["token"] = f"{os.getpid()}-{self.started}"
        cid = client_id(self.cfg)
        try:
            other = store.heartbeat(cid, info, self.started)
            if other is not None:
                log.error("another daemon (host %s, pid %s) runs with the same client id %r: the "
                          "broker keeps dropping one of you; give each instance its own "
                          "[mqtt] client_id (or leave it empty and give each its own state folder)",
                          other.get("host"), other.get("pid"), cid)
        except StoreError as exc:
            log.warning("cannot write this instance's heartbeat: %s", exc)

    def _write_status(self) -> None:
        path = status_path(self.cfg)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.stats()), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)

    # -- main loop --------------------------------------------------------------------
    def serve(self) -> int:
        last_status = last_stats = last_prune = last_text = 0.0
        while not self._stop.wait(0.5):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            now = time.time()
            if now - last_prune >= 3600:
                last_prune = now
                self._prune()
            if now - last_text >= 2:  # STATUS= follows the live state within ~2 s
                last_text = now
                try:
                    self._update_status_text()
                except Exception:
                    log.exception("STATUS= update failed")
            if now - last_status < 5:
                continue
            last_status = now
            try:
                self._write_status()
                self._heartbeat()
                if self.mqtt is not None and now - last_stats >= self.cfg.mqtt.stats_interval_s:
                    self.mqtt.publish_stats(self.stats())
                    self._publish_state()
                    last_stats = now
            except Exception:
                log.exception("periodic status update failed")
        return 0

    def _prune(self) -> None:
        """Forget command records past [mqtt] command_memory_s and events nobody took."""
        try:
            c, o = self.assistant.store.prune(self.cfg.mqtt.command_memory_s, OUTBOX_KEEP_S)
            if o:
                log.warning("dropped %d undelivered events older than %d days from the outbox",
                            o, OUTBOX_KEEP_S // 86400)
            log.debug("pruned %d command records", c)
        except Exception as exc:
            log.warning("cannot prune old command records: %s", exc)

    def request_stop(self, *_: Any) -> None:
        self._stop.set()

    def request_reload(self, *_: Any) -> None:
        self._reload.set()

    def reload(self) -> None:
        """SIGHUP: re-read the config; apply what can change without a restart."""
        sdnotify.notify("RELOADING=1")
        try:
            new = config_mod.load(self.cfg.source or None)
        except config_mod.ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self._answer_reload(False, f"new config refused, the old one stays: {exc}")
            sdnotify.notify("READY=1")
            return
        from assistant.logs import setup_logging

        setup_logging(new.log.level)
        old, self.cfg = self.cfg, new
        self.assistant.cfg = new
        if new.tts != old.tts:
            self._start_speaker()
        if new.mqtt != old.mqtt and self.mqtt is not None:
            self.mqtt.stop()
            old_poke = self.mqtt.poke_outbox
            if old_poke in self.assistant.outbox_listeners:
                self.assistant.outbox_listeners.remove(old_poke)
            self._start_mqtt()
        from assistant.http.service import reload_http

        self.http = reload_http(self.http, new, self.assistant, self.stats)
        for section in ("storage", "nlu", "speech", "time", "wyoming"):
            if getattr(new, section) != getattr(old, section):
                log.warning("[%s] changed: restart the service to apply it", section)
        log.info("configuration reloaded from %s", new.source)
        self._answer_reload(True, f"configuration reloaded from {new.source or '(defaults)'}")
        sdnotify.notify("READY=1")
        self._last_status_text = ""
        self._update_status_text()

    def _answer_reload(self, ok: bool, detail: str) -> None:
        """Tell `assistant reload` (and so `systemctl reload`) how it went."""
        from assistant.control import write_answer

        try:
            write_answer(self.cfg, ok, detail)
        except OSError as exc:
            log.warning("cannot write the reload answer: %s", exc)

    def status_text(self) -> str:
        """The live one-line STATUS= for `systemctl status`: pending, next due, MQTT."""
        summary = self.assistant.store.pending_summary()  # index-backed: cheap every 2 s
        parts = [f"serving; {summary['total']} pending"]
        if summary["next"] is not None:
            parts.append(f"next due {summary['next'].fire_at.isoformat(timespec='seconds')}")
        if self.mqtt is not None:
            parts.append("MQTT connected" if self.mqtt.connected else "MQTT not connected")
        else:
            parts.append("MQTT off")
        return ", ".join(parts)

    def _update_status_text(self) -> None:
        text = self.status_text()
        if text != getattr(self, "_last_status_text", ""):
            self._last_status_text = text
            sdnotify.status(text)

    def shutdown(self) -> None:
        sdnotify.stopping()
        log.info("stopping")
        for part, stop in (("watchdog", lambda: self.watchdog and self.watchdog.stop()),
                           ("microphone", lambda: self.listener and self.listener.stop()),
                           ("web server", lambda: self.http and self.http.stop()),
                           ("wyoming", lambda: self.wyoming and self.wyoming.stop()),
                           ("mqtt", lambda: self.mqtt and self.mqtt.stop()),
                           ("scheduler and store", lambda: self.assistant and self.assistant.stop())):
            try:
                stop()
            except Exception:
                log.exception("error while stopping the %s", part)
        try:
            status_path(self.cfg).unlink(missing_ok=True)
        except OSError:
            pass
        log.info("stopped")


def run(cfg: Config) -> int:
    daemon = Daemon(cfg)
    signal.signal(signal.SIGTERM, daemon.request_stop)
    signal.signal(signal.SIGINT, daemon.request_stop)
    signal.signal(signal.SIGHUP, daemon.request_reload)
    try:
        daemon.start()
    except Exception:
        daemon.shutdown()
        raise
    try:
        return daemon.serve()
    finally:
        daemon.shutdown()
