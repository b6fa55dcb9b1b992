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
from pathlib import Path
from typing import Any

from assistant import config as config_mod
from assistant import sdnotify
from assistant.config import Config
from assistant.events import Event, Request

log = logging.getLogger("assistant")


def status_path(cfg: Config) -> Path:
    return cfg.db_path.parent / "status.json"


class Daemon:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.assistant: Any = None
        self.mqtt: Any = None
        self.speaker: Any = None
        self.listener: Any = None
        self.satellite: Any = None
        self.watchdog: Any = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.started = time.time()

    # -- start ------------------------------------------------------------------------
    def start(self) -> None:
        from assistant.pipeline import Assistant

        t0 = time.monotonic()
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

        self.watchdog = sdnotify.Watchdog(self.healthy)
        self.watchdog.start()
        self._write_status()
        sdnotify.ready(f"serving; {r.get('scheduled', 0)} items scheduled")
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
        from assistant.mqtt.service import MqttService

        self.mqtt = MqttService(self.cfg, self.assistant.handle, parse=self._parse,
                                on_audio=self._on_audio)
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

    # -- glue -------------------------------------------------------------------------
    def _parse(self, text: str) -> Any:
        return self.assistant.parser.parse(text, None, self.assistant.zone)

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
        if self.mqtt is not None:
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
        out["updated"] = time.time()
        return out

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
        last_status = last_stats = 0.0
        while not self._stop.wait(0.5):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            now = time.time()
            if now - last_status < 5:
                continue
            last_status = now
            try:
                self._write_status()
                if self.mqtt is not None and now - last_stats >= self.cfg.mqtt.stats_interval_s:
                    self.mqtt.publish_stats(self.stats())
                    self._publish_state()
                    last_stats = now
            except Exception:
                log.exception("periodic status update failed")
        return 0

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
            self._start_mqtt()
        for section in ("storage", "nlu", "speech", "time"):
            if getattr(new, section) != getattr(old, section):
                log.warning("[%s] changed: restart the service to apply it", section)
        log.info("configuration reloaded from %s", new.source)
        sdnotify.notify("READY=1")

    def shutdown(self) -> None:
        sdnotify.stopping()
        log.info("stopping")
        for part, stop in (("watchdog", lambda: self.watchdog and self.watchdog.stop()),
                           ("microphone", lambda: self.listener and self.listener.stop()),
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
