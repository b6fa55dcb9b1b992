"""The same store on SQLite and on PostgreSQL (a real cluster made by the test).

Shared behaviour runs on both; what only several daemons need (row locks, the migration
lock, the outbox lease) runs on PostgreSQL with several connections at once.
"""

from __future__ import annotations

import threading
import time

import pytest

from assistant.store.db import SCHEMA_VERSION, Item, Store, StoreError


def item(due_in: float = 60, **kw) -> Item:
    return Item(kind=kw.pop("kind", "reminder"), due_ts=time.time() + due_in, zone="Europe/Berlin",
                subject=kw.pop("subject", "water the plants"), **kw)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_same(request, tmp_path):
    """A function opening one store (a new connection each call) on the chosen backend."""
    if request.param == "sqlite":
        path = tmp_path / "a.db"
        return lambda **kw: Store(path, **kw)
    from assistant.store.pg import PgStore

    url = request.getfixturevalue("pg_url")
    return lambda **kw: PgStore(url, **kw)


def test_roundtrip_modify_and_counts(open_same):
    store = open_same()
    a = store.add(item(60))
    b = store.add(item(30, kind="timer", subject=None, label="pasta", duration_s=30))
    assert [i.id for i in store.pending()] == [b.id, a.id]
    got = store.get(b.id)
    assert got.duration_s == 30 and got.label == "pasta" and got.due_ts == pytest.approx(b.due_ts)
    moved = store.modify(a.id, subject="feed the cat", due_ts=time.time() + 120)
    assert moved.subject == "feed the cat" and store.get(a.id).subject == "feed the cat"
    assert store.cancel([a.id]) == 1 and store.cancel([a.id]) == 0
    assert store.counts()["cancelled"] == 1
    summary = store.pending_summary()
    assert summary["total"] == 1 and summary["next"].id == b.id
    assert store.next_fire_ts() == pytest.approx(b.fire_ts)


def test_claim_due_once_with_fire_log_and_outbox(open_same):
    store = open_same()
    due = [store.add(item(-2)) for _ in range(3)]
    store.add(item(3600))
    now = time.time()

    def record(it, late, ts):
        return {"event_id": f"fire-{it.id}", "site": it.site, "late_s": late}

    first = store.claim_due(now, lambda it: None, record=record)
    assert sorted(i.id for i, _ in first) == sorted(d.id for d in due)
    assert all(late >= 1 for _, late in first)
    assert store.claim_due(now, lambda it: None, record=record) == []
    other = open_same()
    assert {other.get(d.id).status for d in due} == {"fired"}
    assert len(other.fires_since(now - 1)) == 3
    rows = other.outbox_pending()
    assert sorted(e["event_id"] for _, e in rows) == sorted(f"fire-{d.id}" for d in due)
    other.outbox_done([seq for seq, _ in rows])
    assert store.outbox_size() == 0


def test_missed_commands_dialogue_heartbeat(open_same):
    store = open_same()
    old = store.add(item(-7200))
    assert [m.id for m in store.mark_missed(time.time(), 3600, lambda it: None)] == [old.id]
    with store.transaction():
        store.remember_command("kitchen/1", {"text": "done"})
    store.remember_command("kitchen/1", {"text": "again"})
    assert store.command_reply("kitchen/1") == {"text": "again"}
    assert store.command_reply("kitchen/2") is None
    store.dialogue_put("kitchen", {"follow_up": {"intent": "reminder.create"}})
    body, ts = store.dialogue_get("kitchen")
    assert body["follow_up"]["intent"] == "reminder.create" and ts > 0
    assert store.dialogue_get("office") is None
    store.heartbeat("a1", {"version": "x"}, time.time())
    store.heartbeat("a1", {"version": "y"}, time.time())
    (inst,) = store.instances()
    assert inst["id"] == "a1" and inst["version"] == "y"


def test_transaction_rolls_back_everything(open_same):
    store = open_same()
    with pytest.raises(RuntimeError), store.transaction():
        store.add(item(60))
        store.remember_command("k", {"text": "x"})
        raise RuntimeError("handler failed")
    assert store.pending() == [] and store.command_reply("k") is None


# -- PostgreSQL only: several connections at once -------------------------------------------

def test_pg_concurrent_claims_fire_each_item_once(pg_url):
    from assistant.store.pg import PgStore

    stores = [PgStore(pg_url) for _ in range(4)]
    ids = {stores[0].add(item(-1 - i * 0.001)).id for i in range(300)}
    got: list[str] = []
    lock = threading.Lock()

    def claimer(s):
        while True:
            chunk = s.claim_due(time.time(), lambda it: None, limit=7,
                                record=lambda it, late, ts: {"event_id": it.id, "site": it.site})
            if not chunk:
                return
            with lock:
                got.extend(i.id for i, _ in chunk)

    threads = [threading.Thread(target=claimer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == sorted(ids)  # every item once, none twice
    assert stores[0].outbox_size() == 300
    assert stores[0].counts()["fired"] == 300


def test_pg_killed_claim_rolls_back_and_another_fires_it(pg_url):
    """A claim whose transaction never commits (the instance died) leaves the item pending;
    while it holds the lock the others skip it, after it is gone one of them fires it."""
    import psycopg

    from assistant.store.pg import PgStore

    a = PgStore(pg_url)
    it = a.add(item(-5))
    dying = psycopg.connect(pg_url)  # an instance mid-claim: row locked, not committed
    dying.execute("SELECT id FROM items WHERE id = %s FOR UPDATE", [it.id])
    b = PgStore(pg_url)
    assert b.claim_due(time.time(), lambda x: None) == []  # skipped, not waited for
    dying.close()  # killed: the server rolls its transaction back
    claimed = b.claim_due(time.time(), lambda x: None)
    assert [i.id for i, _ in claimed] == [it.id] and claimed[0][1] >= 5


def test_pg_migrations_safe_when_instances_start_at_once(pg_url):
    import psycopg

    from assistant.store.pg import PgStore

    errors: list[BaseException] = []

    def start():
        try:
            PgStore(pg_url).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with psycopg.connect(pg_url) as conn:
        v = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert v == str(SCHEMA_VERSION)
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="newer version"):
        PgStore(pg_url)


def test_pg_outbox_rows_leased_to_one_publisher(pg_url):
    from assistant.store import pg
    from assistant.store.pg import PgStore

    a, b = PgStore(pg_url, owner="a"), PgStore(pg_url, owner="b")
    for n in range(10):
        a.outbox_add({"event_id": f"e{n}", "site": "kitchen"})
    got_a = a.outbox_pending(limit=6)
    got_b = b.outbox_pending()
    assert len(got_a) == 6 and len(got_b) == 4
    assert not {s for s, _ in got_a} & {s for s, _ in got_b}
    assert len(a.outbox_pending()) == 6  # its own lease: re-read after a reconnect
    with a.transaction():  # publisher a died: its lease runs out
        a.db.execute("UPDATE outbox SET lease_ts = ? WHERE claimed_by = 'a'",
                     [time.time() - 1])
    assert len(b.outbox_pending()) == 10
    assert pg.OUTBOX_LEASE_S > 0


def test_pg_unreachable_and_password_in_url_refused(tmp_path):
    from assistant import config
    from assistant.store.factory import open_store
    from tests.fixtures.broker import free_port

    cfg = config.from_dict({"storage": {"url": f"postgresql://x@127.0.0.1:{free_port()}/db"}})
    with pytest.raises(StoreError, match="cannot reach PostgreSQL"):
        open_store(cfg)
    with pytest.raises(config.ConfigError, match="password does not belong"):
        config.from_dict({"storage": {"url": "postgresql://x:secret@127.0.0.1/db"}})
    cfg = config.from_dict({"storage": {"url": f"sqlite:///{tmp_path}/b.db"}})
    assert isinstance(open_store(cfg), Store) and (tmp_path / "b.db").exists()


def test_config_refuses_a_shared_group_without_mqtt5_and_a_password_in_the_file():
    from assistant import config

    with pytest.raises(config.ConfigError, match="needs MQTT 5"):
        config.from_dict({"mqtt": {"shared_group": "assistant", "protocol": "3.1.1"}})
    with pytest.raises(config.ConfigError, match="secrets do not go"):
        config.from_dict({"storage": {"password": "x"}})
    cfg = config.from_dict({"mqtt": {"shared_group": "assistant"}})
    from assistant.mqtt.discovery import status_topic

    assert status_topic(cfg).startswith("assistant/instance/")  # one per daemon



def test_heartbeat_names_another_daemon_with_the_same_id(open_same):
    """Two daemons with one client id: each heartbeat finds the other's row (Mosquitto 2.0
    closes the older connection without a reason code, so the store is where it shows)."""
    a, b = open_same(), open_same()
    assert a.heartbeat("assistant-same", {"token": "one"}, time.time()) is None
    assert a.heartbeat("assistant-same", {"token": "one"}, time.time()) is None
    other = b.heartbeat("assistant-same", {"token": "two"}, time.time())
    assert other is not None and other["token"] == "one"


def test_pg_restart_reads_reconnect_and_writes_resume(pg_cluster):
    """The server restarts (or fails over) under a running store: reads reconnect by
    themselves; a write either fails with a clear error or succeeds, never half-done."""
    from assistant.store.pg import PgStore

    store = PgStore(pg_cluster.create_database())
    kept = store.add(item(600))
    pg_cluster.stop()
    try:
        with pytest.raises(StoreError, match="cannot reach PostgreSQL"):
            store.add(item(700))
    finally:
        pg_cluster.start()
    assert [i.id for i in store.pending()] == [kept.id]  # reconnected
    store.add(item(800))
    assert len(store.pending()) == 2


def test_status_lists_every_instance_of_a_shared_store(pg_url, tmp_path):
    import json
    import subprocess
    import sys

    from assistant.store.pg import PgStore
    from tests.fixtures.daemon import ROOT

    store = PgStore(pg_url)
    store.heartbeat("assistant-a", {"requests": 3, "uptime_s": 60}, time.time() - 60)
    store.heartbeat("assistant-b", {"requests": 5, "uptime_s": 60}, time.time() - 60)
    store.db.execute("UPDATE instances SET seen_ts = ? WHERE id = 'assistant-b'",
                     [time.time() - 120])
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path}/state/a.db"\nurl = "{pg_url}"\n')

    def status(*extra):
        return subprocess.run([sys.executable, "-m", "assistant", "status", *extra, "--config",
                               str(cfg)], capture_output=True, text=True, cwd=ROOT, check=True,
                              timeout=120).stdout

    got = {i["id"]: i for i in json.loads(status("--json"))["instances"]}
    assert got["assistant-a"]["alive"] and not got["assistant-b"]["alive"]
    assert got["assistant-a"]["requests"] == 3
    out = status()
    assert "instance assistant-a" in out and "alive" in out and "silent" in out


def test_shopping_list_and_undo_notes_on_both_stores(open_same):
    """The shopping list and the per-site notes (undo) use portable SQL, inside a command
    transaction too (a failing query there would abort a PostgreSQL transaction)."""
    from assistant.store.lists import NamedList

    s = open_same()
    with s.transaction():
        shop = NamedList(s, "shopping")
        assert shop.add(["milk", "eggs", "Milk"]) == (["milk", "eggs"], [])
    entry = next(e for e in shop.entries() if e.text == "milk")
    assert shop.set_done(entry.id, True).done is True
    assert shop.items() == ["eggs"]
    assert shop.add(["milk"])[0] == ["milk"]  # re-adding un-checks it
    assert shop.remove(["eggs", "bread"]) == (["eggs"], ["bread"])
    assert NamedList(s, "shopping").items() == ["milk"]
    s.set_note("undo:kitchen", "x1")
    s.set_note("undo:kitchen", "x2")
    assert s.note("undo:kitchen") == "x2"
