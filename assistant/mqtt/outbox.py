"""Delivers the store's outbox: fired events, sent until the broker acknowledged them.

Why an outbox: an item's status and its event are written in the same transaction when it
fires (`Store.claim_due`), so a crash at any moment after that still has the event on disk.
This thread publishes each row with QoS 1 and deletes it only once paho reports the
broker's PUBACK. After a restart every row left is published again, with the same
`event_id`, so delivery is at least once and a consumer can drop the rare duplicate.
While connected, paho itself resends unacknowledged messages after a reconnect, so a row is
published once per process and then only watched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from assistant.store.db import Store, StoreError

log = logging.getLogger("assistant.mqtt")

BATCH = 500  # rows read per pass
MAX_IN_FLIGHT = 2000  # rows published and not yet acknowledged
IDLE_S = 2.0  # a pass at least this often (reconnects, rows written by another process)
WATCH_S = 0.02  # while acknowledgements are outstanding


class OutboxPublisher:
    """`publish(event) -> [MQTTMessageInfo]` sends one event (on every topic it goes to)."""

    def __init__(self, store: Store, publish: Callable[[dict[str, Any]], list[Any]],
                 connected: Callable[[], bool]) -> None:
        self.store = store
        self.publish = publish
        self.connected = connected
        self._in_flight: dict[int, list[Any]] = {}
        self._last_seq = 0
        self._poke = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def poke(self) -> None:
        """New rows were written (or the connection came back): look now."""
        self._poke.set()

    def reconnected(self) -> None:
        """A new connection: messages paho had in flight are resent by paho only when the
        session was resumed; re-read every row so nothing waits for the next restart."""
        self._last_seq = 0
        self._poke.set()

    # -- the loop -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._poke.wait(WATCH_S if self._in_flight else IDLE_S)
            self._poke.clear()
            if self._stop.is_set():
                return
            try:
                self._settle()
                if self.connected():
                    self._send()
                elif not self._in_flight:
                    self._last_seq = 0  # read everything again once connected
            except StoreError as exc:
                log.error("event outbox: %s; retrying", exc)
                time.sleep(1.0)
            except Exception:
                log.exception("event outbox pass failed; retrying")
                time.sleep(1.0)

    def _settle(self) -> None:
        done, failed = [], []
        for seq, infos in self._in_flight.items():
            if all(i.is_published() for i in infos):
                done.append(seq)
            elif any(i.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) for i in infos):
                failed.append(seq)
        if done:
            self.store.outbox_done(done)
        for seq in done + failed:
            del self._in_flight[seq]
        if failed:  # paho refused it (queue full): read it again next pass
            self._last_seq = min(self._last_seq, min(failed) - 1)

    def _send(self) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        rows = self.store.outbox_pending(self._last_seq, min(BATCH, room))
        for seq, event in rows:
            self._last_seq = max(self._last_seq, seq)
            if seq in self._in_flight:
                continue
            self._in_flight[seq] = self.publish(event)
        if len(rows) == min(BATCH, room):
            self._poke.set()  # more to read
