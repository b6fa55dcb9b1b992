"""The broker connection: paho-mqtt 2.x (VERSION2 callbacks), one stable persistent session.

What this module guarantees, so the service above it does not have to think about it:
- MQTT 5 by default (3.1.1 by `[mqtt] protocol`), a stable client id, clean start off and a
  session expiry, so QoS 1 commands sent while the daemon restarts wait at the broker;
- last will `offline` (retained) on `{root}/status`;
- reconnects forever with exponential back-off plus jitter, without ever raising;
- one clear log line per distinct problem (login refused, TLS, unreachable), not one per retry;
- manual acknowledgement: a command is acknowledged only after it has been answered, so a
  command that was received but not served before a stop is delivered again.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from assistant.config import Config, ConfigError
from assistant.mqtt.discovery import client_id, status_topic

log = logging.getLogger("assistant.mqtt")

# CONNACK codes that mean "wrong credentials": MQTT 5 134/135, MQTT 3.1.1 4/5 (paho maps
# the 3.1.1 codes to the MQTT 5 names).
_LOGIN_REFUSED = {134, 135, 4, 5}
RECEIVE_MAXIMUM = 100


SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason: the same client id connected elsewhere
UNSUPPORTED_PROTOCOL = 132  # MQTT 5 CONNACK reason (3.1.1 brokers answer 1 = same meaning)


def backoff_delay(attempt: int, min_s: float, max_s: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with 'equal jitter': half fixed, half random, capped at max_s."""
    base = min(max_s, min_s * (2 ** max(0, attempt - 1)))
    return base / 2 + rand() * base / 2


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed (for the log)."""

    last_error: BaseException | None = None

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            rc = super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise
        self.last_error = None
        sock = self.socket()
        if sock is not None:
            try:  # small packets (a reply, then its PUBACK) must not wait on Nagle + delayed ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass
        return rc


class Connection:
    """One broker session. `on_connected(session_present)` runs on every successful CONNACK;
    `on_message(msg)` for every message (on paho's network thread: keep it short)."""

    def __init__(self, cfg: Config, on_connected: Callable[[bool], None],
                 on_message: Callable[[mqtt.MQTTMessage], None]) -> None:
        self.cfg = cfg
        m = cfg.mqtt
        self.where = f"{m.host}:{m.port}"
        self.client_id = client_id(cfg)
        self.v5 = m.protocol == "5"
        self._on_connected = on_connected
        self._on_message = on_message
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stopping = False
        self._started = False
        self._attempt = 0
        self._last_problem = ""
        self.reconnects = 0
        self.setup_error: str | None = None
        self.client = self._make_client()

    # -- construction -----------------------------------------------------------------
    def _make_client(self) -> _Client:
        m = self.cfg.mqtt
        if self.v5:
            c = _Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        else:
            c = _Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv311, clean_session=False)
        c.suppress_exceptions = True
        c.manual_ack_set(True)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(10000)
        c.will_set(status_topic(self.cfg), "offline", qos=1, retain=True)
        c.on_connect = self._cb_connect
        c.on_connect_fail = self._cb_connect_fail
        c.on_disconnect = self._cb_disconnect
        c.on_message = self._cb_message
        c.on_subscribe = self._cb_subscribe
        c.reconnect_delay_set(m.reconnect_min_s, m.reconnect_max_s)  # type: ignore[arg-type]
        try:
            if m.username:
                c.username_pw_set(m.username, self.cfg.mqtt_password())
            if m.tls:
                files: dict[str, str | None] = {}
                for name in ("ca_file", "cert_file", "key_file"):
                    value = getattr(m, name)
                    path = self.cfg.resolve_path(value) if value else None
                    if path is not None and not path.is_file():
                        raise ConfigError(f"MQTT TLS setup failed: [mqtt] {name} = {value!r}: "
                                          f"no such file ({path})")
                    files[name] = str(path) if path else None
                c.tls_set(ca_certs=files["ca_file"], certfile=files["cert_file"],
                          keyfile=files["key_file"])
                c.tls_insecure_set(m.tls_insecure)
        except ConfigError as exc:
            self.setup_error = str(exc)
        except (OSError, ssl.SSLError, ValueError) as exc:
            detail = getattr(exc, "strerror", None) or str(exc)
            name = getattr(exc, "filename", None)
            self.setup_error = (f"MQTT TLS setup failed: {detail}{f' ({name})' if name else ''}; "
                                "check [mqtt] ca_file, cert_file and key_file")
        return c

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; never raises for an unreachable broker."""
        if self.setup_error:
            log.error("%s; MQTT stays off until the config is fixed (SIGHUP reloads)", self.setup_error)
            return
        m = self.cfg.mqtt
        kwargs: dict[str, Any] = {}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            # In a shared group a session must end with its daemon: Mosquitto keeps handing a
            # persistent, disconnected member its share of the commands (measured: a third of
            # them with 3 daemons, answered only when the dead one came back; bench/multi.py).
            props.SessionExpiryInterval = 0 if m.shared_group else m.session_expiry_s
            # Commands are acknowledged only once answered, so this also bounds how many
            # unanswered commands (and their payloads) can sit in memory at once.
            props.ReceiveMaximum = RECEIVE_MAXIMUM
            kwargs = {"clean_start": False, "properties": props}
        self.client.connect_async(m.host, m.port, m.keepalive_s, **kwargs)
        self.client.loop_start()
        self._started = True

    def stop(self, timeout: float = 3.0) -> None:
        """Publish retained `offline`, disconnect cleanly (no last will), stop the loop."""
        self._stopping = True
        if not self._started:
            return
        if self._connected.is_set():
            try:
                info = self.client.publish(status_topic(self.cfg), "offline", qos=1, retain=True)
                info.wait_for_publish(max(0.1, timeout))
            except (RuntimeError, ValueError) as exc:
                log.debug("could not publish offline: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()
        self._started = False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """True once the broker acknowledged the subscriptions of the current session."""
        return self._subscribed.wait(timeout)

    # -- thin wrappers ----------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=qos, retain=retain,
                                   properties=properties if self.v5 else None)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            log.warning("MQTT outgoing queue full while the broker is away; dropped a message on %s", topic)
        return info

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        if topics:
            self._subscribed.clear()
            self.client.subscribe(topics)

    def unsubscribe(self, topics: list[str]) -> None:
        if topics:
            self.client.unsubscribe(topics)

    def ack(self, msg: mqtt.MQTTMessage) -> None:
        if msg.qos > 0:
            self.client.ack(msg.mid, msg.qos)

    # -- paho callbacks (network thread) -----------------------------------------------
    def _schedule_retry(self) -> float:
        m = self.cfg.mqtt
        self._attempt += 1
        delay = backoff_delay(self._attempt, m.reconnect_min_s, m.reconnect_max_s)
        self.client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]
        return delay

    def _problem(self, text: str, level: int = logging.WARNING, retry: str = "") -> None:
        """Log a problem once; repeats of the same problem (any retry delay) go to DEBUG."""
        if text != self._last_problem:
            log.log(level, text + retry)
            self._last_problem = text
        else:
            log.debug(text + retry)

    def _cb_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                    properties: Any) -> None:
        try:
            if reason.is_failure:
                delay = self._schedule_retry()
                if reason.value in (UNSUPPORTED_PROTOCOL, 1) and self.cfg.mqtt.shared_group:
                    self._problem(f"MQTT broker {self.where} does not speak MQTT 5, which [mqtt] "
                                  "shared_group needs; upgrade the broker (Mosquitto >= 1.6, "
                                  "EMQX, VerneMQ, HiveMQ) or remove shared_group", logging.ERROR)
                    return
                if reason.value in _LOGIN_REFUSED:
                    env = self.cfg.mqtt.password_env
                    from_file = self.cfg.mqtt.password_file and not (env and os.environ.get(env))
                    where = "[mqtt] password_file" if from_file or not env else f"${env}"
                    self._problem(f"MQTT broker {self.where} refused the login: bad username or "
                                  f"password; check [mqtt] username and {where}", logging.ERROR)
                else:
                    self._problem(f"MQTT broker {self.where} refused the connection: {reason}",
                                  logging.ERROR, f"; retrying in {delay:.1f} s")
                log.debug("broker said %s; next attempt in %.1f s", reason, delay)
                return
            self._attempt = 0
            self._last_problem = ""
            m = self.cfg.mqtt
            self.client.reconnect_delay_set(m.reconnect_min_s, m.reconnect_max_s)  # type: ignore[arg-type]
            self._connected.set()
            log.info("connected to MQTT broker %s as %s (MQTT %s, session %s)", self.where,
                     self.client_id, m.protocol, "resumed" if flags.session_present else "new")
            self._on_connected(bool(flags.session_present))
        except Exception:
            log.exception("error while setting up the MQTT session")

    def _cb_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        try:
            delay = self._schedule_retry()
            exc = self.client.last_error
            self._problem(self.describe_error(exc), retry=f"; retrying in {delay:.1f} s")
        except Exception:
            log.exception("error in the MQTT connect-failure handler")

    def _cb_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                       properties: Any) -> None:
        try:
            was = self._connected.is_set()
            self._connected.clear()
            self._subscribed.clear()
            if self._stopping:
                return
            if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
                log.error("MQTT broker %s dropped this daemon: another client connected with the "
                          "same client id %r; give each instance its own [mqtt] client_id (or "
                          "leave it empty and give each its own state folder)", self.where,
                          self.client_id)
            if was:
                self.reconnects += 1
                self._attempt = 0
                delay = self._schedule_retry()
                log.warning("lost the MQTT broker %s (%s); reconnecting in %.1f s", self.where,
                            reason, delay)
        except Exception:
            log.exception("error in the MQTT disconnect handler")

    def _cb_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode],
                      properties: Any) -> None:
        bad = [str(r) for r in reasons if r.is_failure]
        if bad:
            log.error("MQTT broker %s refused a subscription (%s); check the broker's ACL for "
                      "topic root %r", self.where, ", ".join(bad), self.cfg.mqtt.root)
        self._subscribed.set()

    def _cb_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._on_message(msg)
        except Exception:
            log.exception("error while receiving an MQTT message on %s; acknowledged and skipped",
                          getattr(msg, "topic", "?"))
            try:
                self.ack(msg)
            except (ValueError, RuntimeError, OSError) as exc:
                log.debug("could not acknowledge message %s: %s", getattr(msg, "mid", "?"), exc)

    def describe_error(self, exc: BaseException | None) -> str:
        """One line naming what failed and which setting to check."""
        w = f"MQTT broker {self.where}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (f"{w}: TLS certificate not trusted ({exc.verify_message}); check [mqtt] ca_file "
                    "(tls_insecure = true skips the host name check only)")
        if isinstance(exc, ssl.SSLError):
            return f"{w}: TLS handshake failed ({exc.reason or exc}); check [mqtt] tls and the broker's listener"
        if isinstance(exc, socket.gaierror):
            return f"{w}: host name not found ({exc.strerror}); check [mqtt] host"
        if isinstance(exc, ConnectionRefusedError):
            return f"{w} unreachable (connection refused): is the broker running? check [mqtt] host and port"
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return f"{w} unreachable (timed out); check [mqtt] host, port and the network"
        if isinstance(exc, OSError):
            return f"{w} unreachable ({exc.strerror or exc}); check [mqtt] host and port"
        return f"{w} unreachable"
