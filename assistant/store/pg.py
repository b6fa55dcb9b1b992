"""The PostgreSQL store: the same `Store` on a server that several daemons share.

Why: one SQLite file serves one box. A household with several devices, or a building with
hundreds of rooms, needs one shared state and more than one daemon; PostgreSQL gives both
the shared state and the row locks (`FOR UPDATE SKIP LOCKED`) that let several daemons
claim due items without firing one twice.

Only the dialect lives here: the connection (psycopg 3, one connection per store guarded by
the store's lock, autocommit outside explicit transactions), placeholders, the DDL of each
schema version (the same versions as SQLite; `double precision` for epoch seconds, since
PostgreSQL's `real` is 4 bytes), the advisory lock that serialises migrations when several
instances start at once, and the outbox lease (one publisher per row).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from assistant.store.db import SCHEMA_VERSION, Store, StoreError, _set_schema_version

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x61737369  # "assi": pg_advisory_xact_lock key for schema migrations
OUTBOX_LEASE_S = 30.0  # a publisher that died releases its rows after this long
CONNECT_TIMEOUT_S = 5


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without a password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class _Table:
    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db, self.name = db, name

    def insert(self, row: dict[str, Any], pk: str = "id") -> None:
        cols = list(row)
        self.db.execute(f"INSERT INTO {self.name} ({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})", [row[c] for c in cols])

    def update(self, key: Any, changes: dict[str, Any], pk: str = "id") -> None:
        sets = ", ".join(f"{c} = ?" for c in changes)
        self.db.execute(f"UPDATE {self.name} SET {sets} WHERE {pk} = ?", [*changes.values(), key])


class PgDatabase:
    """The small part of `sqlite_utils.Database` the store uses, on a psycopg connection."""

    def __init__(self, conninfo: str, password: str | None) -> None:
        self.conninfo = conninfo
        self.password = password
        self.conn = self._connect()
        self._depth = 0

    def _connect(self) -> psycopg.Connection:
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                                  "application_name": "assistant"}
        if self.password:
            kwargs["password"] = self.password
        return psycopg.connect(self.conninfo, **kwargs)

    def _ready(self) -> psycopg.Connection:
        """Reconnect after a lost connection, but never inside a transaction (its work is gone
        and the caller must hear so)."""
        if (self.conn.closed or self.conn.broken) and self._depth == 0:
            log.warning("PostgreSQL connection lost; reconnecting")
            self.conn = self._connect()
        return self.conn

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def _run(self, fn: Any) -> Any:
        """A read outside a transaction is retried once on a new connection when the server
        went away (a restart, a failover to the standby); inside a transaction the error
        goes up: that work is gone and must be reported, not half-repeated."""
        try:
            return fn(self._ready())
        except psycopg.OperationalError:
            if self._depth or not (self.conn.closed or self.conn.broken):
                raise
            return fn(self._ready())

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> Any:
        return self._run(lambda conn: conn.execute(self._sql(sql), params or None))

    def query(self, sql: str, params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        def run(conn: psycopg.Connection) -> list[dict[str, Any]]:
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(self._sql(sql), params or None)
            return cur.fetchall()

        return iter(self._run(run))

    def __getitem__(self, name: str) -> _Table:
        return _Table(self, name)

    @contextmanager
    def atomic(self) -> Iterator[PgDatabase]:
        """A transaction; nested calls are savepoints (as with sqlite_utils)."""
        conn = self._ready()
        self._depth += 1
        try:
            with conn.transaction():
                yield self
        finally:
            self._depth -= 1


_DDL: dict[int, list[str]] = {
    1: [("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT, "
        "label TEXT, due_ts DOUBLE PRECISION NOT NULL, fire_ts DOUBLE PRECISION NOT NULL, "
        "zone TEXT NOT NULL, rrule TEXT, dtstart_local TEXT, site TEXT NOT NULL, "
        "status TEXT NOT NULL, duration_s INTEGER, notice_s INTEGER, "
        "created_ts DOUBLE PRECISION, fired_ts DOUBLE PRECISION, fire_count INTEGER, "
        "updated_ts DOUBLE PRECISION)"),
        "CREATE INDEX IF NOT EXISTS items_pending ON items (status, fire_ts)"],
    2: [("CREATE TABLE IF NOT EXISTS fires (item_id TEXT, due_ts DOUBLE PRECISION, "
        "fired_ts DOUBLE PRECISION, late_s DOUBLE PRECISION)"),
        ("CREATE TABLE IF NOT EXISTS misses (item_id TEXT, due_ts DOUBLE PRECISION, "
        "noted_ts DOUBLE PRECISION)")],
    3: [("CREATE TABLE IF NOT EXISTS outbox (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "event_id TEXT UNIQUE NOT NULL, site TEXT, body TEXT NOT NULL, "
        "created_ts DOUBLE PRECISION)"),
        ("CREATE TABLE IF NOT EXISTS commands (key TEXT PRIMARY KEY, reply TEXT NOT NULL, "
        "created_ts DOUBLE PRECISION)"),
        "CREATE INDEX IF NOT EXISTS commands_age ON commands (created_ts)",
        "CREATE INDEX IF NOT EXISTS items_kind_pending ON items (status, kind, fire_ts)",
        "CREATE INDEX IF NOT EXISTS items_updated ON items (updated_ts)",
        "CREATE INDEX IF NOT EXISTS fires_late ON fires (late_s)"],
    4: ["ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_by TEXT",
        "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS lease_ts DOUBLE PRECISION",
        ("CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
        "started_ts DOUBLE PRECISION, seen_ts DOUBLE PRECISION, info TEXT)"),
        ("CREATE TABLE IF NOT EXISTS dialogue (site TEXT PRIMARY KEY, body TEXT NOT NULL, "
        "updated_ts DOUBLE PRECISION)")],
    5: ["ALTER TABLE items ADD COLUMN IF NOT EXISTS remaining_s DOUBLE PRECISION"],
}
assert sorted(_DDL) == list(range(1, SCHEMA_VERSION + 1)), "a migration for every version"


class PgStore(Store):
    """Items on a PostgreSQL server, shared by several daemons."""

    _db_errors = (psycopg.Error,)
    _claim_lock = " FOR UPDATE SKIP LOCKED"
    shared = True
    sweep_s = 2.0  # other instances add items: look for them (and for a dead one's) often

    def __init__(self, url: str, password: str | None = None, readonly: bool = False,
                 owner: str | None = None) -> None:
        self.url = url
        self.path = None  # type: ignore[assignment]  # no file: messages name `where`
        self._lock = threading.RLock()
        self.readonly = readonly
        self.version = 0
        self.owner = owner or uuid.uuid4().hex[:12]  # who holds an outbox lease
        try:
            self.db = PgDatabase(url, password)  # type: ignore[assignment]
            if readonly:
                self.db.execute("SET default_transaction_read_only = on")
            else:
                self._migrate()
        except psycopg.Error as exc:
            raise self._translate(exc) from exc

    @property
    def where(self) -> str:
        return redact(self.url)

    def _translate(self, exc: BaseException) -> StoreError:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, psycopg.OperationalError):
            return StoreError(f"{self.where}: cannot reach PostgreSQL ({msg}); check that the "
                              "server runs, [storage] url, and the password (PGPASSWORD, "
                              "[storage] password_env or password_file)")
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            return StoreError(f"{self.where}: the database is read-only here ({msg})")
        return StoreError(f"{self.where}: database error: {msg}")

    def _migrate(self) -> None:
        """Several instances may start at once: the advisory lock makes one migrate while the
        others wait, then find the schema current."""
        with self._lock, self.db.atomic():
            self.db.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.where}: written by a newer version (schema {version}); "
                                 "upgrade the assistant")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for ddl in _DDL[step]:
                    self.db.execute(ddl)
            _set_schema_version(self.db)

    def close(self) -> None:
        with self._lock:
            try:
                self.db.conn.close()
            except psycopg.Error:
                pass

    def outbox_pending(self, after_seq: int = 0, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
        """Lease undelivered events to this publisher: rows another live publisher holds are
        skipped; a dead publisher's rows come back when its lease expires."""
        now = time.time()
        sql = ("UPDATE outbox SET claimed_by = ?, lease_ts = ? WHERE seq IN ("
               "SELECT seq FROM outbox WHERE seq > ? AND (claimed_by IS NULL OR claimed_by = ? "
               "OR lease_ts < ?) ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING seq, body")
        rows = self._write(lambda: self.db.execute(
            sql, [self.owner, now + OUTBOX_LEASE_S, after_seq, self.owner, now, limit]).fetchall())
        return sorted((r[0], json.loads(r[1])) for r in rows)


def password_for(password_env: str, password_file: str) -> str | None:
    """The PostgreSQL password: `password_env` (default PGPASSWORD, which libpq also reads),
    else the file's first line; None lets libpq use ~/.pgpass or peer authentication."""
    if password_env and os.environ.get(password_env):
        return os.environ[password_env]
    if password_file:
        with open(password_file, encoding="utf-8") as fh:
            return fh.readline().strip()
    return None
