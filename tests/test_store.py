"""The SQLite store on real files: exactly-once claiming, read-only and corrupt databases."""

import os
import sqlite3
import time

import pytest

from assistant.store.db import SCHEMA_VERSION, Item, Store, StoreError


def item(due_in: float = 60, **kw) -> Item:
    return Item(kind=kw.pop("kind", "reminder"), due_ts=time.time() + due_in, zone="Europe/Berlin",
                subject=kw.pop("subject", "water the plants"), **kw)


def test_add_list_cancel_roundtrip(tmp_path):
    store = Store(tmp_path / "a.db")
    a = store.add(item(60))
    b = store.add(item(30, kind="timer", subject=None, label="pasta"))
    assert [i.id for i in store.pending()] == [b.id, a.id]  # ordered by fire time
    assert [i.id for i in store.pending(kind="timer")] == [b.id]
    assert store.cancel([a.id]) == 1
    assert store.cancel([a.id]) == 0  # already cancelled
    assert [i.id for i in store.pending()] == [b.id]
    js = store.get(b.id).to_json()
    assert {"id", "kind", "subject", "due", "recurrence", "site"} <= set(js)
    assert js["due"].endswith(("+01:00", "+02:00"))


def test_claim_due_hands_each_item_out_once(tmp_path):
    store = Store(tmp_path / "a.db")
    due = [store.add(item(-1)) for _ in range(3)]
    store.add(item(3600))
    now = time.time()
    first = store.claim_due(now, lambda it: None)
    assert sorted(i.id for i, _ in first) == sorted(i.id for i in due)
    assert all(late >= 1 for _, late in first)
    assert store.claim_due(now, lambda it: None) == []
    # a second process opening the same file sees them as fired
    other = Store(tmp_path / "a.db")
    assert {i.status for i in other.all_items() if i.id in {d.id for d in due}} == {"fired"}


def test_missed_items_are_marked_not_fired(tmp_path):
    store = Store(tmp_path / "a.db")
    old = store.add(item(-7200))
    recent = store.add(item(-60))
    missed = store.mark_missed(time.time(), 3600, lambda it: None)
    assert [m.id for m in missed] == [old.id]
    assert store.get(old.id).status == "missed"
    assert store.get(recent.id).status == "pending"
    assert store.counts()["missed"] == 1


def test_schema_version_recorded_and_newer_refused(tmp_path):
    path = tmp_path / "a.db"
    Store(path).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer version"):
        Store(path)


def test_corrupt_file_is_refused_clearly_and_left_alone(tmp_path):
    path = tmp_path / "a.db"
    garbage = b"this is not sqlite" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="corrupt"):
        Store(path)
    assert path.read_bytes() == garbage  # nothing overwritten: the admin can still rescue it


def test_read_only_file_for_the_service_user(tmp_path):
    """A database the service user may not write: a clear error, nothing lost."""
    import shutil
    import subprocess
    import sys

    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to act as an unprivileged user")
    import tempfile

    base = tempfile.mkdtemp(prefix="assistant-ro-")  # pytest's tmp folders are private to root
    os.chmod(base, 0o755)
    folder = __import__("pathlib").Path(base) / "state"
    folder.mkdir()
    path = folder / "a.db"
    store = Store(path)
    kept = store.add(item(600))
    store.close()
    os.chmod(folder, 0o755)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    code = (
        "import time, sys\n"
        "from assistant.store.db import Item, Store, StoreError\n"
        f"s = Store({str(path)!r})\n"
        "assert s.readonly and len(s.pending()) == 1\n"
        "try:\n"
        "    s.add(Item(kind='reminder', due_ts=time.time()+60, zone='UTC', subject='x'))\n"
        "except StoreError as e:\n"
        "    print('ERR', e); sys.exit(3)\n"
    )
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert res.returncode == 3, res.stderr
    assert "read-only" in res.stdout or "cannot open" in res.stdout or "unable" in res.stdout
    assert [i.id for i in Store(path).pending()] == [kept.id]
    shutil.rmtree(base)


def test_read_only_database_keeps_data_and_reports(tmp_path):
    path = tmp_path / "a.db"
    store = Store(path)
    kept = store.add(item(600))
    store.close()
    ro = Store(path, readonly=True)  # what `reminders list` uses; also what a RO mount gives
    assert [i.id for i in ro.pending()] == [kept.id]
    with pytest.raises(StoreError, match="read-only"):
        ro.add(item(900))
    ro.close()
    assert [i.id for i in Store(path).pending()] == [kept.id]


def test_subject_too_long_is_refused(tmp_path):
    store = Store(tmp_path / "a.db")
    with pytest.raises(ValueError, match="longer than"):
        store.add(item(60, subject="x" * 5000))
