"""The SQLite store: the single source of truth for everything scheduled.

Why SQLite and not the scheduler's own job store: a reminder must survive a crash, a
power cut and a restart, and `assistant reminders list` must read it while the daemon
runs. Every change is one transaction, committed before the assistant says "done"; the
in-memory scheduler is rebuilt from here at every start.

Times are kept twice: as epoch seconds (UTC, for ordering and firing) and as the local
wall-clock time plus the IANA zone it was asked in (so recurrences stay at 7:00 local
across DST changes and a moved system zone does not move a reminder).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
# Which kinds exist is declared by the skills (assistant.kinds); the store checks the form.
KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
STATUSES = ("pending", "fired", "snoozed", "cancelled", "missed", "paused")
MAX_SUBJECT = 500


class StoreError(AssistantError, RuntimeError):
    """The database cannot be read or written; the message says what to do."""


class ItemConflict(ValueError):
    """An edit that cannot apply: the item is no longer pending, or changed since it was read."""


@dataclass
class Item:
    kind: str
    due_ts: float  # the item's own time (the appointment, the alarm), epoch seconds
    zone: str
    subject: str | None = None
    label: str | None = None
    rrule: str | None = None
    dtstart_local: str | None = None  # naive local ISO: anchor of the recurrence
    site: str = "default"
    status: str = "pending"
    fire_ts: float = 0.0  # when the scheduler fires it (due - notice, or a snooze)
    duration_s: int | None = None
    notice_s: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_ts: float = 0.0
    fired_ts: float | None = None
    fire_count: int = 0
    updated_ts: float = 0.0
    remaining_s: float | None = None  # a paused timer: what is left; it does not fire

    def __post_init__(self) -> None:
        if not self.fire_ts:
            self.fire_ts = self.due_ts - (self.notice_s or 0)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def due(self) -> datetime:
        return datetime.fromtimestamp(self.due_ts, self.tz)

    @property
    def fire_at(self) -> datetime:
        return datetime.fromtimestamp(self.fire_ts, self.tz)

    def to_json(self) -> dict[str, Any]:
        """The `assistant reminders list --json` shape."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "label": self.label,
            "due": self.due.isoformat(timespec="seconds"),
            "fire_at": self.fire_at.isoformat(timespec="seconds"),
            "recurrence": {"rrule": self.rrule} if self.rrule else None,
            "site": self.site,
            "status": self.status,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Item:
        return cls(**{k: row[k] for k in _COLUMNS if k in row})


_COLUMNS = tuple(Item.__dataclass_fields__)


def _now_ts() -> float:
    return datetime.now(UTC).timestamp()


def _refuse_empty_file(path: Path) -> None:
    """A 0-byte file where the database should be is damage (a failed copy, a full disk),
    not a new store: SQLite would silently start afresh and every reminder would be gone."""
    try:
        empty = path.is_file() and path.stat().st_size == 0
        wal = Path(f"{path}-wal")
        wal_data = wal.is_file() and wal.stat().st_size > 0
    except OSError:
        return
    if empty and not wal_data:
        raise StoreError(f"{path}: the database file is corrupt (it is empty: 0 bytes); move it "
                         "aside and restart, or restore it from a backup")


def _translate(exc: sqlite3.Error, path: Path) -> StoreError:
    msg = str(exc)
    if "readonly" in msg or "read-only" in msg:
        return StoreError(f"{path}: the database is read-only; give the service user write access "
                          "to the file and its folder")
    if "disk is full" in msg or "disk I/O" in msg:
        return StoreError(f"{path}: the disk is full or failing ({msg}); free some space")
    if "not a database" in msg or "malformed" in msg:
        return StoreError(f"{path}: the database file is corrupt ({msg}); move it aside and "
                          "restart, or restore it from a backup")
    if "unable to open" in msg:
        return StoreError(f"{path}: cannot open the database ({msg}); check that the folder "
                          "exists and is writable")
    return StoreError(f"{path}: database error: {msg}")


class Store:
    """Items in one SQLite file, safe to use from several threads of one process.

    The shared logic of every store: the SQL below is written so that it runs on SQLite and
    PostgreSQL alike (`assistant/store/pg.py` adapts the rest: connection, placeholders,
    DDL, row locks). Hooks a dialect overrides: `_db_errors`, `_translate`, `_claim_lock`.
    """

    _db_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    _claim_lock = ""  # PostgreSQL: " FOR UPDATE SKIP LOCKED" (several instances claim)
    shared = False  # True when several daemons share this store (dialogue state, heartbeats)

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.readonly = readonly
        self.version = 0  # bumped by every committed write of this process (cheap change test)
        try:
            self._open(readonly)
        except StoreError as exc:
            if readonly or "read-only" not in str(exc) or not self.path.exists():
                raise
            # Keep serving what is stored; every write will answer with this error.
            log.error("%s; opening it read-only: nothing can be added or changed", exc)
            self.readonly = True
            self._open(True)

    def _open(self, readonly: bool) -> None:
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"{self.path}: no database yet; nothing has been stored")
                conn = self._connect_ro()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _refuse_empty_file(self.path)
                conn = sqlite3.connect(str(self.path), check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            self.db = sqlite_utils.Database(conn)
            if not readonly:
                self.db.enable_wal()
                # FULL: a change is on disk before the assistant says "done", power cut included
                # (NORMAL in WAL mode is crash-safe but may lose the last commits on power loss).
                conn.execute("PRAGMA synchronous = FULL")
                self._migrate()
            else:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except self._db_errors as exc:
            raise self._translate(exc) from exc
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the state folder or the database: "
                             f"{exc.strerror or exc}; set [storage] path to a writable place") from exc

    def _translate(self, exc: BaseException) -> StoreError:
        return _translate(exc, self.path)  # type: ignore[arg-type]

    @property
    def where(self) -> str:
        """What to name in messages: the file, or the server (never a password)."""
        return str(self.path)

    def _connect_ro(self) -> sqlite3.Connection:
        """Read-only: live view (sees the daemon's WAL), else a snapshot when the folder is
        not writable either (a WAL reader needs to create the -shm file)."""
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            return sqlite3.connect(f"file:{self.path}?immutable=1", uri=True,
                                   check_same_thread=False)

    # -- schema -----------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._lock, self.db.conn:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer version (schema {version}); "
                                 "upgrade the assistant")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[step](self.db)
            _set_schema_version(self.db)

    def close(self) -> None:
        with self._lock:
            try:
                self.db.conn.close()
            except sqlite3.Error:
                pass

    # -- writes -----------------------------------------------------------------------
    def _write(self, fn: Any) -> Any:
        with self._lock:
            try:
                with self.db.atomic():  # inside `transaction()`: a savepoint of the outer one
                    result = fn()
                self.version += 1
                return result
            except self._db_errors as exc:
                raise self._translate(exc) from exc

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One unit of work: every write inside commits together or not at all.

        Why: a command's action and the record of its reply (`remember_command`) must be
        one commit, so a command redelivered after a crash is answered from the record and
        not acted on twice; and a handler that raises leaves no partial write behind.
        Nested calls (and `_write`) become savepoints of the outer transaction."""
        with self._lock:
            try:
                with self.db.atomic():
                    yield self
            except self._db_errors as exc:
                raise self._translate(exc) from exc

    def add(self, item: Item) -> Item:
        if not KIND_NAME.match(item.kind or ""):
            raise ValueError(f"malformed kind {item.kind!r}: expected a lowercase name")
        if item.subject and len(item.subject) > MAX_SUBJECT:
            raise ValueError(f"subject longer than {MAX_SUBJECT} characters")
        now = _now_ts()
        item.created_ts = item.created_ts or now
        item.updated_ts = now
        self._write(lambda: self.db["items"].insert(asdict(item), pk="id"))
        return item

    def update(self, item_id: str, **changes: Any) -> None:
        changes["updated_ts"] = _now_ts()
        self._write(lambda: self.db["items"].update(item_id, changes))

    def modify(self, item_id: str, *, due_ts: float | None = None, subject: str | None = None,
               label: str | None = None, expect_updated_ts: float | None = None,
               now_ts: float | None = None) -> Item | None:
        """Move and/or rename one pending item in one transaction; None when no such id.

        The one edit path for the web page, the API and the spoken update intents: the
        caller reschedules the returned item. A calendar event keeps its notice unless that
        would already have passed. `expect_updated_ts` turns "last write wins" into a
        conflict when someone else changed the item since the caller read it.
        """
        if subject is not None and len(subject) > MAX_SUBJECT:
            raise ValueError(f"subject longer than {MAX_SUBJECT} characters")
        if label is not None and len(label) > MAX_SUBJECT:
            raise ValueError(f"label longer than {MAX_SUBJECT} characters")
        now = _now_ts() if now_ts is None else now_ts

        def run() -> Item | None:
            rows = list(self.db.query("SELECT * FROM items WHERE id = ?", [item_id]))
            if not rows:
                return None
            item = Item.from_row(rows[0])
            if item.status != "pending":
                raise ItemConflict(f"the {item.kind} is {item.status}, not pending")
            if expect_updated_ts is not None and abs(item.updated_ts - expect_updated_ts) > 1e-6:
                raise ItemConflict(f"the {item.kind} was changed by someone else; reload it")
            changes: dict[str, Any] = {"updated_ts": max(now, item.updated_ts + 1e-6)}
            if due_ts is not None:
                if item.rrule:
                    raise ItemConflict("a repeating item cannot be moved yet; cancel it and "
                                       "create it again at the new time")
                if due_ts <= now:
                    raise ValueError("that time is already in the past")
                fire_ts = due_ts - (item.notice_s or 0)
                changes.update(due_ts=due_ts, fire_ts=fire_ts if fire_ts > now else due_ts)
            if subject is not None:
                changes["subject"] = subject
            if label is not None:
                changes["label"] = label
            self.db["items"].update(item_id, changes)
            return Item.from_row({**rows[0], **changes})

        return self._write(run)

    def note(self, key: str) -> str | None:
        """A small value kept with the items (e.g. a site's last change, for "undo")."""
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", [f"note:{key}"]).fetchone()
        return row[0] if row else None

    def set_note(self, key: str, value: str | None) -> None:
        if value is None:
            self._write(lambda: self.db.execute("DELETE FROM meta WHERE key = ?", [f"note:{key}"]))
        else:
            self._write(lambda: self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value", [f"note:{key}", value]))

    def fires_since(self, since_ts: float) -> list[tuple[float, float]]:
        """(fired_ts, late_s) of every fire since `since_ts`: the lateness chart's data."""
        with self._lock:
            try:
                return [(r[0], r[1]) for r in self.db.execute(
                    "SELECT fired_ts, late_s FROM fires WHERE fired_ts >= ? ORDER BY fired_ts",
                    [since_ts]).fetchall()]
            except self._db_errors as exc:
                raise self._translate(exc) from exc

    def cancel(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))

        def run() -> int:
            cur = self.db.execute(
                f"UPDATE items SET status = 'cancelled', updated_ts = ? "
                f"WHERE status IN ('pending', 'snoozed', 'paused') AND id IN ({marks})", [_now_ts(), *ids])
            return cur.rowcount

        return self._write(run)

    def claim_due(self, now_ts: float, advance: Any,
                  record: Callable[[Item, float, float], dict[str, Any] | None] | None = None,
                  limit: int | None = None) -> list[tuple[Item, float]]:
        """Take every pending item whose fire time has come, in one transaction.

        `advance(item)` returns the next fire time of a recurring item (or None); one-off
        items become `fired`. Returns (item as it was, lateness in seconds). Because the
        status changes in the same transaction, an item is handed out exactly once, even
        across a crash right after. `record(item, late_s, now_ts)` returns the event to
        deliver (or None); it is written to the outbox in the same transaction, so a fired
        item's event survives a crash until a publisher has had it acknowledged.
        """

        def run() -> list[tuple[Item, float]]:
            sql = "SELECT * FROM items WHERE status = 'pending' AND fire_ts <= ? ORDER BY fire_ts"
            sql += (f" LIMIT {int(limit)}" if limit else "") + self._claim_lock
            rows = list(self.db.query(sql, [now_ts]))
            out = []
            for row in rows:
                item = Item.from_row(row)
                late = max(0.0, now_ts - item.fire_ts)
                nxt = advance(item) if item.rrule else None
                if nxt is not None:
                    due_ts, fire_ts = nxt
                    self.db.execute(
                        "UPDATE items SET due_ts = ?, fire_ts = ?, fired_ts = ?, "
                        "fire_count = fire_count + 1, updated_ts = ? WHERE id = ?",
                        [due_ts, fire_ts, now_ts, now_ts, item.id])
                else:
                    self.db.execute(
                        "UPDATE items SET status = 'fired', fired_ts = ?, "
                        "fire_count = fire_count + 1, updated_ts = ? WHERE id = ?",
                        [now_ts, now_ts, item.id])
                self.db.execute("INSERT INTO fires (item_id, due_ts, fired_ts, late_s) "
                                "VALUES (?,?,?,?)", [item.id, item.fire_ts, now_ts, late])
                event = record(item, late, now_ts) if record is not None else None
                if event is not None:
                    self._outbox_add(event, now_ts)
                out.append((item, late))
            return out

        return self._write(run)

    # -- outbox: events delivered at least once, with a stable id ------------------------
    def _outbox_add(self, event: dict[str, Any], now_ts: float) -> None:
        self.db.execute("INSERT INTO outbox (event_id, site, body, created_ts) "
                        "VALUES (?,?,?,?) ON CONFLICT (event_id) DO NOTHING",
                        [event["event_id"], event.get("site", "default"),
                         json.dumps(event, ensure_ascii=False, default=str), now_ts])

    def outbox_add(self, event: dict[str, Any]) -> None:
        """Queue one event (a dict with a unique `event_id`) for delivery."""
        self._write(lambda: self._outbox_add(event, _now_ts()))

    def outbox_pending(self, after_seq: int = 0, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
        """Undelivered events in the order they were recorded: (seq, event)."""
        with self._lock:
            try:
                rows = self.db.execute("SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq "
                                       "LIMIT ?", [after_seq, limit]).fetchall()
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        return [(r[0], json.loads(r[1])) for r in rows]

    def outbox_done(self, seqs: Iterable[int]) -> None:
        """The broker acknowledged these: they need not be sent again."""
        seqs = list(seqs)
        if seqs:
            marks = ",".join("?" * len(seqs))
            self._write(lambda: self.db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", seqs))

    def outbox_size(self) -> int:
        with self._lock:
            row = self.db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0]) if row else 0

    # -- commands: a command id is acted on once -------------------------------------------
    def command_reply(self, key: str) -> dict[str, Any] | None:
        """The reply recorded for a command key (site + id), or None when it is new."""
        with self._lock:
            try:
                row = self.db.execute("SELECT reply FROM commands WHERE key = ?",
                                      [key]).fetchone()
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        return json.loads(row[0]) if row else None

    def remember_command(self, key: str, reply: dict[str, Any]) -> None:
        """Record a command's reply; call inside the `transaction()` that did its action."""
        body = json.dumps(reply, ensure_ascii=False, default=str)
        self._write(lambda: self.db.execute(
            "INSERT INTO commands (key, reply, created_ts) VALUES (?,?,?) ON CONFLICT (key) "
            "DO UPDATE SET reply = excluded.reply, created_ts = excluded.created_ts",
            [key, body, _now_ts()]))

    def prune(self, commands_older_than_s: float, outbox_older_than_s: float) -> tuple[int, int]:
        """Forget old command records and events no publisher took (e.g. MQTT was off)."""
        now = _now_ts()

        def run() -> tuple[int, int]:
            c = self.db.execute("DELETE FROM commands WHERE created_ts < ?",
                                [now - commands_older_than_s]).rowcount
            o = self.db.execute("DELETE FROM outbox WHERE created_ts < ?",
                                [now - outbox_older_than_s]).rowcount
            return c, o

        return self._write(run)

    # -- several instances: heartbeats and shared dialogue state ---------------------------
    def heartbeat(self, instance_id: str, info: dict[str, Any], started_ts: float,
                  clash_within_s: float = 20.0) -> dict[str, Any] | None:
        """This instance is alive: `assistant status` lists every instance seen recently.

        Returns the row another process wrote under the same id within `clash_within_s`
        (its `info["token"]` differs): two daemons configured with one client id."""
        import os
        import socket

        body = json.dumps(info, ensure_ascii=False, default=str)
        now = _now_ts()

        def run() -> dict[str, Any] | None:
            row = self.db.execute("SELECT host, pid, seen_ts, info FROM instances WHERE id = ?",
                                  [instance_id]).fetchone()
            self.db.execute(
                "INSERT INTO instances (id, host, pid, started_ts, seen_ts, info) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, "
                "pid = excluded.pid, started_ts = excluded.started_ts, seen_ts = excluded.seen_ts, "
                "info = excluded.info",
                [instance_id, socket.gethostname(), os.getpid(), started_ts, now, body])
            if row is None or now - row[2] > clash_within_s:
                return None
            prev = json.loads(row[3] or "{}")
            if prev.get("token") == info.get("token"):
                return None
            return {"host": row[0], "pid": row[1], **prev}

        return self._write(run)

    def instances(self, seen_within_s: float = 3600.0) -> list[dict[str, Any]]:
        with self._lock:
            try:
                rows = self.db.execute(
                    "SELECT id, host, pid, started_ts, seen_ts, info FROM instances "
                    "WHERE seen_ts >= ? ORDER BY id", [_now_ts() - seen_within_s]).fetchall()
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        return [{"id": r[0], "host": r[1], "pid": r[2], "started_ts": r[3], "seen_ts": r[4],
                 **json.loads(r[5] or "{}")} for r in rows]

    def dialogue_get(self, site: str) -> tuple[dict[str, Any], float] | None:
        """The shared state of one site (a pending question, the last fired item) and when
        it was written; None when there is none."""
        with self._lock:
            try:
                row = self.db.execute("SELECT body, updated_ts FROM dialogue WHERE site = ?",
                                      [site]).fetchone()
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        return (json.loads(row[0]), row[1]) if row else None

    def dialogue_put(self, site: str, body: dict[str, Any]) -> None:
        text = json.dumps(body, ensure_ascii=False, default=str)
        self._write(lambda: self.db.execute(
            "INSERT INTO dialogue (site, body, updated_ts) VALUES (?,?,?) ON CONFLICT (site) "
            "DO UPDATE SET body = excluded.body, updated_ts = excluded.updated_ts",
            [site, text, _now_ts()]))

    # -- cheap aggregates (no full scan of pending items) ---------------------------------
    def pending_summary(self, among: Iterable[str] = ()) -> dict[str, Any]:
        """Counts per kind, the next pending item, and the next one of the kinds `among`,
        from the (status, kind, fire_ts) indexes: no scan of every pending item."""
        among = list(among)
        with self._lock:
            try:
                rows = self.db.execute("SELECT kind, count(*) FROM items WHERE status = 'pending' "
                                       "GROUP BY kind").fetchall()
                nxt = list(self.db.query("SELECT * FROM items WHERE status = 'pending' "
                                         "ORDER BY fire_ts LIMIT 1"))
                sub: list[dict[str, Any]] = []
                if among:
                    marks = ",".join("?" * len(among))
                    sub = list(self.db.query(
                        f"SELECT * FROM items WHERE status = 'pending' AND kind IN ({marks}) "
                        "ORDER BY fire_ts LIMIT 1", among))
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        by_kind = {r[0]: r[1] for r in rows}
        return {"by_kind": by_kind, "total": sum(by_kind.values()),
                "next": Item.from_row(nxt[0]) if nxt else None,
                "next_among": Item.from_row(sub[0]) if sub else None}

    def next_fire_ts(self) -> float | None:
        with self._lock:
            row = self.db.execute("SELECT min(fire_ts) FROM items WHERE status = 'pending'"
                                  ).fetchone()
        return row[0] if row and row[0] is not None else None

    def mark_missed(self, now_ts: float, older_than_s: float, advance: Any) -> list[Item]:
        """Items whose fire time passed more than `older_than_s` ago: missed, not fired."""

        def run() -> list[Item]:
            rows = list(self.db.query(
                "SELECT * FROM items WHERE status = 'pending' AND fire_ts < ?" + self._claim_lock,
                [now_ts - older_than_s]))
            out = []
            for row in rows:
                item = Item.from_row(row)
                nxt = advance(item) if item.rrule else None
                if nxt is not None:
                    self.db.execute("UPDATE items SET due_ts = ?, fire_ts = ?, updated_ts = ? "
                                    "WHERE id = ?", [nxt[0], nxt[1], now_ts, item.id])
                    self.db.execute("INSERT INTO misses (item_id, due_ts, noted_ts) VALUES (?,?,?)",
                                    [item.id, item.due_ts, now_ts])
                else:
                    self.db.execute("UPDATE items SET status = 'missed', updated_ts = ? "
                                    "WHERE id = ?", [now_ts, item.id])
                out.append(item)
            return out

        return self._write(run)

    # -- reads ------------------------------------------------------------------------
    def _read(self, sql: str, params: list[Any] | None = None) -> list[Item]:
        with self._lock:
            try:
                return [Item.from_row(r) for r in self.db.query(sql, params or [])]
            except self._db_errors as exc:
                raise self._translate(exc) from exc

    def get(self, item_id: str) -> Item | None:
        rows = self._read("SELECT * FROM items WHERE id = ?", [item_id])
        return rows[0] if rows else None

    def pending(self, kind: str | None = None, site: str | None = None) -> list[Item]:
        sql = "SELECT * FROM items WHERE status = 'pending'"
        params: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if site:
            sql += " AND site = ?"
            params.append(site)
        return self._read(sql + " ORDER BY fire_ts", params)

    def paused(self, kind: str | None = None) -> list[Item]:
        """Paused items (a paused timer keeps `remaining_s` and does not fire)."""
        if kind:
            return self._read("SELECT * FROM items WHERE status = 'paused' AND kind = ? "
                              "ORDER BY updated_ts", [kind])
        return self._read("SELECT * FROM items WHERE status = 'paused' ORDER BY updated_ts")

    def all_items(self) -> list[Item]:
        return self._read("SELECT * FROM items ORDER BY created_ts")

    def changed_since(self, ts: float) -> bool:
        """Whether another process (the CLI) changed something: the daemon then reloads."""
        with self._lock:
            row = self.db.execute("SELECT max(updated_ts) FROM items").fetchone()
        return bool(row and row[0] and row[0] > ts)

    def counts(self) -> dict[str, int]:
        with self._lock:
            try:
                rows = self.db.execute(
                    "SELECT status, count(*) FROM items GROUP BY status").fetchall()
                late = self.db.execute("SELECT count(*) FROM fires WHERE late_s > 1").fetchone()
                misses = self.db.execute("SELECT count(*) FROM misses").fetchone()
            except self._db_errors as exc:
                raise self._translate(exc) from exc
        out = {s: 0 for s in STATUSES}
        out.update({r[0]: r[1] for r in rows})
        out["late"] = late[0] if late else 0
        out["missed"] = out.get("missed", 0) + (misses[0] if misses else 0)
        return out


def _set_schema_version(db: Any) -> None:
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) "
               "DO UPDATE SET value = excluded.value", [str(SCHEMA_VERSION)])


def _v1(db: sqlite_utils.Database) -> None:
    db["items"].create({
        "id": str, "kind": str, "subject": str, "label": str, "due_ts": float, "fire_ts": float,
        "zone": str, "rrule": str, "dtstart_local": str, "site": str, "status": str,
        "duration_s": int, "notice_s": int, "created_ts": float, "fired_ts": float,
        "fire_count": int, "updated_ts": float,
    }, pk="id", not_null={"kind", "due_ts", "fire_ts", "zone", "site", "status"}, if_not_exists=True)
    db.execute("CREATE INDEX IF NOT EXISTS items_pending ON items (status, fire_ts)")


def _v2(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS fires (item_id TEXT, due_ts REAL, fired_ts REAL, "
               "late_s REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS misses (item_id TEXT, due_ts REAL, noted_ts REAL)")


def _v3(db: sqlite_utils.Database) -> None:
    # outbox: events recorded with the fire, deleted once the broker acknowledged them.
    db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
               "event_id TEXT UNIQUE NOT NULL, site TEXT, body TEXT NOT NULL, created_ts REAL)")
    # commands: the reply of every command that carried an id, for redeliveries and repeats.
    db.execute("CREATE TABLE IF NOT EXISTS commands (key TEXT PRIMARY KEY, reply TEXT NOT NULL, "
               "created_ts REAL)")
    db.execute("CREATE INDEX IF NOT EXISTS commands_age ON commands (created_ts)")
    db.execute("CREATE INDEX IF NOT EXISTS items_kind_pending ON items (status, kind, fire_ts)")
    db.execute("CREATE INDEX IF NOT EXISTS items_updated ON items (updated_ts)")
    db.execute("CREATE INDEX IF NOT EXISTS fires_late ON fires (late_s)")


def _v4(db: sqlite_utils.Database) -> None:
    # Several daemons on one store (PostgreSQL): an outbox row is leased to one publisher,
    # every instance writes a heartbeat, and per-site dialogue state is shared.
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN lease_ts REAL")
    db.execute("CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
               "started_ts REAL, seen_ts REAL, info TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS dialogue (site TEXT PRIMARY KEY, body TEXT NOT NULL, "
               "updated_ts REAL)")


def _v5(db: sqlite_utils.Database) -> None:
    # a paused timer keeps the time it had left (issue 13: pause / resume)
    db.execute("ALTER TABLE items ADD COLUMN remaining_s REAL")


_MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5}
