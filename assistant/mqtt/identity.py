"""Who this daemon is on the broker and in Home Assistant, and what it announced there.

Client id: two daemons on one host with the same topic root (a second instance, a test
next to the service) must not share an id, or the broker disconnects one whenever the other
connects, every second. The default id therefore ends in a random suffix made once and kept
in the state folder (`mqtt-instance-id`), so it stays the same across restarts (the broker's
persistent session and HA's device survive) while each state folder is its own instance.

Discovery ledger: the retained discovery config topics we published, kept in the store's
SQLite file (table `mqtt_discovery_topics`), so turning discovery off or changing what the
device is called (root, client id, host name, prefix) clears the old configs with empty
retained payloads instead of leaving stale devices in Home Assistant.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger("assistant.mqtt")

SUFFIX_FILE = "mqtt-instance-id"
TABLE = "mqtt_discovery_topics"
_cache: dict[Path, str] = {}
_lock = threading.Lock()


def instance_suffix(state_dir: Path) -> str:
    """Six hex characters, stable for this state folder (made on first use)."""
    state_dir = Path(state_dir)
    with _lock:
        if state_dir in _cache:
            return _cache[state_dir]
        path = state_dir / SUFFIX_FILE
        suffix = ""
        try:
            suffix = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            pass
        if not (len(suffix) == 6 and all(c in "0123456789abcdef" for c in suffix)):
            suffix = _create(path)
        _cache[state_dir] = suffix
        return suffix


def _create(path: Path) -> str:
    suffix = secrets.token_hex(3)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(suffix + "\n", encoding="ascii")
        os.replace(tmp, path)
        return suffix
    except OSError as exc:
        # Still unique per state folder and stable while the folder stays where it is.
        fallback = hashlib.sha256(str(path.parent.resolve()).encode()).hexdigest()[:6]
        log.warning("cannot keep the MQTT instance id in %s (%s); using %s, derived from "
                    "the state folder's path", path, exc.strerror or exc, fallback)
        return fallback


class DiscoveryLedger:
    """The discovery config topics currently retained on the broker for us."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.db_path), timeout=5)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} "
                     "(topic TEXT PRIMARY KEY, published_ts REAL NOT NULL)")
        return conn

    def topics(self) -> set[str]:
        if not self.db_path.exists():
            return set()
        conn = self._connect()
        try:
            return {r[0] for r in conn.execute(f"SELECT topic FROM {TABLE}")}
        finally:
            conn.close()

    def replace(self, topics: set[str]) -> None:
        if not topics and not self.db_path.exists():
            return
        conn = self._connect()
        try:
            with conn:
                conn.execute(f"DELETE FROM {TABLE}")
                now = time.time()
                conn.executemany(f"INSERT INTO {TABLE} (topic, published_ts) VALUES (?, ?)",
                                 [(t, now) for t in sorted(topics)])
        finally:
            conn.close()


__all__ = ["SUFFIX_FILE", "TABLE", "DiscoveryLedger", "instance_suffix"]
