"""The web server's life in the daemon (bind rules, reload) and its parts on their own."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import config as config_mod
from assistant.config import ConfigError
from assistant.http import charts
from assistant.http.events import EventHub
from assistant.http.items import item_json
from assistant.http.security import Auth, RateLimiter, check_bind
from assistant.store.db import Item, Store
from tests.fixtures.daemon import free_port, write_config
from tests.fixtures.http import TOKEN, spawn, stop, wait_for


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_lan_address_without_token_is_refused_and_the_daemon_keeps_serving(tmp_path):
    port = free_port()
    hd = spawn(tmp_path, token=None, http={"listen": f"0.0.0.0:{port}"})
    try:
        assert "web page and API not started" in hd.log()
        assert "no access token is set" in hd.log()
        assert not _listening(port)
        assert hd.daemon.proc.poll() is None  # MQTT, scheduler and CLI interfaces unchanged
    finally:
        stop(hd)


def test_sighup_applies_a_new_port_and_limits(tmp_path):
    hd = spawn(tmp_path)
    try:
        with hd.client() as c:
            assert c.get("/api/items").status_code == 200
        new_port = free_port()
        text = hd.daemon.config.read_text()
        old_port = int(hd.url.rsplit(":", 1)[1])
        text = text.replace(f"127.0.0.1:{old_port}", f"127.0.0.1:{new_port}")
        text = text.replace("rate_limit_per_s = 1000.0", "rate_limit_per_s = 0.5")
        text = text.replace("rate_burst = 1000", "rate_burst = 3")
        hd.daemon.config.write_text(text)
        hd.daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: _listening(new_port), timeout=15)
        wait_for(lambda: not _listening(old_port), timeout=15)
        hd.url = f"http://127.0.0.1:{new_port}"
        with hd.client() as c:
            codes = [c.get("/api/items").status_code for _ in range(5)]
            assert codes[:3] == [200, 200, 200] and codes[3] == 429
            r = c.get("/api/items")
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert r.json() == {"error": "too many requests; slow down"}
            assert c.get("/healthz").status_code == 200  # health is never rate limited
        code, took = hd.daemon.terminate()
        assert code == 0 and took < 5
        assert not _listening(new_port)
    finally:
        stop(hd)


def test_token_never_in_the_toml(tmp_path):
    path = write_config(tmp_path, http={"token": "secret"})
    with pytest.raises(ConfigError, match="secrets do not go in the config file"):
        config_mod.load(path)
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        config_mod.load(write_config(tmp_path, http={"listen": "8080"}))


def test_bind_rules():
    cfg = config_mod.from_dict({"http": {"listen": "[::1]:8080"}})
    assert check_bind(cfg, None) == ("::1", 8080)
    lan = config_mod.from_dict({"http": {"listen": "192.168.1.5:8080"}})
    with pytest.raises(ConfigError, match="no access token"):
        check_bind(lan, None)
    with pytest.raises(ConfigError, match="shorter than 16"):
        check_bind(lan, "short")
    assert check_bind(lan, TOKEN) == ("192.168.1.5", 8080)


def test_token_file(tmp_path, monkeypatch):
    from assistant.http.security import load_token

    monkeypatch.delenv("ASSISTANT_HTTP_TOKEN", raising=False)
    (tmp_path / "tok").write_text(TOKEN + "\n")
    cfg = config_mod.load(write_config(tmp_path, http={"token_file": "tok"}))
    assert load_token(cfg) == TOKEN
    monkeypatch.setenv("ASSISTANT_HTTP_TOKEN", "from-the-environment-1234")
    assert load_token(cfg) == "from-the-environment-1234"


def test_auth_derivations_are_distinct_and_checked_in_constant_time():
    a = Auth(TOKEN)
    assert a.check_bearer(f"Bearer {TOKEN}") and not a.check_bearer(f"Bearer {TOKEN}x")
    assert not a.check_bearer(TOKEN)
    assert len({a.session_value(), a.feed_token(), a.csrf_for("c")}) == 3
    assert a.check_feed(a.feed_token()) and not a.check_feed(TOKEN)
    assert a.check_csrf("c", a.csrf_for("c")) and not a.check_csrf("d", a.csrf_for("c"))
    assert Auth(None).check_feed(None)


def test_rate_limiter_refills_and_forgets_old_clients():
    rl = RateLimiter(per_s=2, burst=2, max_clients=3)
    assert rl.allow("a", 0) == 0 and rl.allow("a", 0) == 0
    assert rl.allow("a", 0) == pytest.approx(0.5)
    assert rl.allow("a", 0.6) == 0  # refilled
    for c in "bcd":
        rl.allow(c, 1)
    assert "a" not in rl._buckets and len(rl._buckets) == 3


def test_event_hub_drops_a_client_that_stops_reading(tmp_path):
    store = Store(tmp_path / "s.db")

    async def run() -> tuple[EventHub, list]:
        hub = EventHub(store, item_json, buffer=10, max_clients=2)
        hub.start()
        stalled = hub.subscribe()
        reader = hub.subscribe()
        assert hub.subscribe() is None  # max_clients
        got = []

        async def read() -> None:
            async for chunk in hub.stream(reader):
                got.append(chunk)
                if len(got) > 500:
                    return

        task = asyncio.create_task(read())
        for i in range(500):
            hub.publish("tick", {"i": i})
            while reader.queue.qsize() > 5:  # this client keeps up; the other never reads
                await asyncio.sleep(0.001)
        await asyncio.wait_for(task, 5)
        assert stalled.dropped and stalled.queue.qsize() == 10  # bounded, then dropped
        assert stalled not in hub.clients
        await hub.stop()
        return hub, got

    hub, got = asyncio.run(run())
    assert hub.dropped == 1
    assert sum(1 for g in got if g.startswith("id: ")) == 500  # the reader lost nothing
    store.close()


def test_event_hub_diffs_the_store_and_hears_fired_events(tmp_path):
    from assistant.events import Event

    store = Store(tmp_path / "s.db")
    now = time.time()

    async def run() -> list[str]:
        hub = EventHub(store, item_json)
        hub.start()
        c = hub.subscribe()
        a = store.add(Item(kind="reminder", due_ts=now + 60, zone="UTC", subject="a"))
        store.add(Item(kind="timer", due_ts=now + 30, zone="UTC", duration_s=30))
        hub.on_change()
        await hub._tick()
        store.modify(a.id, subject="b")
        store.cancel([a.id])
        await hub._tick()
        await asyncio.to_thread(hub.on_fire, Event("timer.done", "t1", None, "d", "f", 0.01))
        await asyncio.sleep(0.05)
        out = []
        while not c.queue.empty():
            out.append(c.queue.get_nowait()[1])
        await hub.stop()
        return out

    kinds = asyncio.run(run())
    assert kinds.count("item.added") == 2 and "tick" in kinds
    assert "item.removed" in kinds and kinds[-1] == "fired"
    store.close()


def test_store_modify_keeps_calendar_notice_and_refuses_what_it_cannot_do(tmp_path):
    from assistant.store.db import ItemConflict

    store = Store(tmp_path / "s.db")
    now = time.time()
    ev = store.add(Item(kind="calendar", due_ts=now + 7200, zone="UTC", subject="x",
                        notice_s=900))
    moved = store.modify(ev.id, due_ts=now + 3600, now_ts=now)
    assert moved.fire_ts == pytest.approx(now + 2700) and store.get(ev.id).due_ts == now + 3600
    soon = store.modify(ev.id, due_ts=now + 60, now_ts=now)
    assert soon.fire_ts == pytest.approx(now + 60)  # notice already passed: fire at the time
    assert store.modify("nope", subject="y") is None
    with pytest.raises(ItemConflict, match="changed by someone else"):
        store.modify(ev.id, subject="y", expect_updated_ts=ev.updated_ts)
    with pytest.raises(ValueError, match="past"):
        store.modify(ev.id, due_ts=now - 10)
    store.cancel([ev.id])
    with pytest.raises(ItemConflict, match="cancelled"):
        store.modify(ev.id, subject="z")
    store.close()


def test_charts_are_valid_svg_with_text_alternatives():
    import xml.etree.ElementTree as ET

    zone = ZoneInfo("Europe/Berlin")
    end = datetime(2026, 3, 29, 12, 0, tzinfo=zone)  # a DST day: 23 hour ticks still fine
    t0 = end.timestamp() - 86400
    pts = [(t0 + i * 600, 5 + (i % 7)) for i in range(144)]
    svg = charts.time_chart("latency <ms>", "ms", [charts.Series(
        "a & b", pts, "s-api", charts.bucket_percentile(pts, t0, end.timestamp(), 1800, 0.99))],
        end, zone, log_scale=True)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(ns + "title").text == "latency <ms>"
    assert "144 values" in root.find(ns + "desc").text
    assert len(root.findall(ns + "circle")) == 145  # points + legend
    assert root.find(ns + "polyline") is not None
    empty = charts.time_chart("none", "ms", [charts.Series("x", [], "s-api")],
                              datetime.now(UTC), zone)
    assert "no data in this period" in empty
    assert charts.bucket_percentile([(0, 1.0), (10, 3.0), (1900, 2.0)], 0, 3600, 1800, 0.5) == [
        (900.0, 3.0), (2700.0, 2.0)]
