"""One shopping list for voice and the web page: the skill and the page's adapter share
`NamedList(store, "shopping")`, a checked-off state, and one publication path (the retained
skill state, fanned out to MQTT and the page's event stream)."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.http.shopping import ShoppingList
from assistant.pipeline import Assistant
from assistant.skill import load_registry
from assistant.store.lists import NamedList, item_id
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import write_config
from tests.fixtures.http import spawn, stop, wait_for
from tests.fixtures.skills import FakeParser

NOW = datetime(2026, 3, 27, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
SHOP = {
    "add milk and eggs to my shopping list": "shopping_list.add",
    "add milk to my shopping list": "shopping_list.add",
    "add bread to my shopping list": "shopping_list.add",
    "what's on my shopping list": "shopping_list.list",
    "remove milk from my shopping list": "shopping_list.remove",
    "clear my shopping list": "shopping_list.clear",
}


@pytest.fixture
def assistant(tmp_path):
    cfg = config.load(write_config(tmp_path))
    registry = load_registry(cfg)
    a = Assistant(cfg, parser=FakeParser(SHOP, registry), clock=Clock(NOW), registry=registry)
    yield a
    a.stop()


def say(a: Assistant, text: str) -> str:
    return a.handle(Request(text=text)).speech


def test_voice_and_page_edit_one_list_and_both_publish(assistant) -> None:
    shared: list = []
    assistant.add_state_listener(lambda topic, payload: shared.append((topic, payload)))
    assistant.start()
    page = ShoppingList(assistant)
    say(assistant, "add milk and eggs to my shopping list")
    listed = page.items()
    assert [(it["text"], it["done"]) for it in listed] == [("milk", False), ("eggs", False)]
    milk = item_id("shopping", "milk")
    assert listed[0]["id"] == milk and milk.isalnum()  # stable, URL-safe

    # Checked off on the page: published, and no longer read back by voice.
    assert page.set_done(milk, True)["done"] is True
    assert shared[-1] == ("shopping_list", {"items": ["eggs"], "count": 1, "done": ["milk"]})
    assert say(assistant, "what's on my shopping list") == (
        "You have 1 item on your shopping list: eggs.")
    assert [it["text"] for it in page.items()] == ["eggs", "milk"]  # still needed first
    # Added again by voice: it is needed again.
    assert say(assistant, "add milk to my shopping list") == "I added milk to your shopping list."
    assert page.items()[0]["done"] is False
    assert shared[-1][1] == {"items": ["milk", "eggs"], "count": 2, "done": []}

    # Added on the page: read back by voice; the same item twice is one item.
    item, new = page.add("  Bread ")
    assert new and item["text"] == "Bread" and shared[-1][1]["items"][-1] == "Bread"
    assert say(assistant, "add bread to my shopping list") == "Bread is already on it."
    assert page.add("bread") == (item, False)
    assert say(assistant, "what's on my shopping list").endswith("milk, eggs and Bread.")

    # Removed on the page; cleared by voice, checked-off items too.
    assert page.remove(item["id"]) and not page.remove(item["id"])
    assert shared[-1][1]["items"] == ["milk", "eggs"]
    page.set_done(milk, True)
    assert say(assistant, "clear my shopping list") == (
        "Do you want me to clear all 2 items from your shopping list?")
    assert say(assistant, "yes") == "Done, I cleared 2 items from your shopping list."
    assert page.items() == [] and shared[-1][1] == {"items": [], "count": 0, "done": []}
    with pytest.raises(ValueError, match="at most 100 characters"):
        page.add("x" * 101)


def test_an_older_file_gets_the_done_column_and_the_pages_former_table(tmp_path) -> None:
    """A file from before: list_items without `done`, and the page's own shopping_list table."""
    cfg = config.load(write_config(tmp_path))
    cfg.db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(cfg.db_path) as db:
        db.execute("CREATE TABLE list_items (list TEXT NOT NULL, key TEXT NOT NULL, "
                   "item TEXT NOT NULL, added_ts REAL NOT NULL, PRIMARY KEY (list, key))")
        db.execute("INSERT INTO list_items VALUES ('shopping', 'milk', 'milk', 1.0)")
        db.execute("CREATE TABLE shopping_list (id TEXT PRIMARY KEY, text TEXT NOT NULL, "
                   "done INTEGER NOT NULL DEFAULT 0, created_ts REAL, updated_ts REAL)")
        db.executemany("INSERT INTO shopping_list VALUES (?, ?, ?, ?, ?)",
                       [("a1", "Milk", 1, 2.0, 2.0), ("b2", "tea", 1, 3.0, 3.0),
                        ("c3", "jam", 0, 4.0, 4.0)])
    db.close()
    registry = load_registry(cfg)
    a = Assistant(cfg, parser=FakeParser(SHOP, registry), registry=registry)
    try:
        page = ShoppingList(a)
        # Needed on either side stays needed; checked off only on the page stays checked off.
        assert [(it["text"], it["done"]) for it in page.items()] == [
            ("milk", False), ("jam", False), ("tea", True)]
        assert not a.store.db["shopping_list"].exists()
        assert NamedList(a.store, "shopping").items() == ["milk", "jam"]
    finally:
        a.stop()


def _collect(hd, out: list, stop_when: threading.Event) -> None:
    with hd.client() as c, c.stream("GET", "/api/events", timeout=60) as r:
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "shopping.changed":
                out.append(json.loads(line[6:]))
            if stop_when.is_set():
                return


def test_the_daemon_shows_voice_items_on_the_page_and_page_ticks_to_voice_and_mqtt(
        tmp_path, mosquitto, probe_factory) -> None:
    """The real daemon: a request through `Assistant.handle` (the page's command box, the same
    path as MQTT and the microphone) and the page's API edit one list; MQTT and the event
    stream see every change."""
    hd = spawn(tmp_path / "d", mqtt={"enabled": True, **mosquitto.mqtt_section()})
    events: list = []
    done = threading.Event()
    try:
        t = threading.Thread(target=_collect, args=(hd, events, done), daemon=True)
        t.start()
        probe = probe_factory(mosquitto, subscribe=["assistant/shopping_list"])
        with hd.client() as c:
            wait_for(lambda: c.get("/api/status").json()["http"]["event_clients"] == 1)
            r = c.post("/api/command", json={"text": "add milk to my shopping list"}).json()
            assert r["intent"] == "shopping_list.add" and r["ok"], r
            items = c.get("/api/shopping_list").json()["items"]
            assert [(it["text"], it["done"]) for it in items] == [("milk", False)]
            wait_for(lambda: any(e["items"] == ["milk"] for e in events))
            probe.expect(lambda m: json.loads(m.payload) == {
                "items": ["milk"], "count": 1, "done": []}, timeout=30)

            r = c.patch(f"/api/shopping_list/{items[0]['id']}", json={"done": True})
            assert r.status_code == 200 and r.json()["done"] is True
            ticked = {"items": [], "count": 0, "done": ["milk"]}
            probe.expect(lambda m: json.loads(m.payload) == ticked, timeout=30)
            late = probe_factory(mosquitto, subscribe=["assistant/shopping_list"])
            msg = late.expect(timeout=30)  # what a client connecting now is given
            assert msg.retain and json.loads(msg.payload) == ticked
            wait_for(lambda: events[-1] == ticked)
            r = c.post("/api/command", json={"text": "what's on my shopping list"}).json()
            assert r["intent"] == "shopping_list.list" and r["ok"], r
            assert "milk" not in r["speech"] and r["speech"] == "Your shopping list is empty."
        done.set()
    finally:
        done.set()
        stop(hd)
    assert "Traceback" not in hd.log()
