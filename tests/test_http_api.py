"""The JSON API against the real daemon (`assistant run` with [http] enabled), over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from assistant.store.db import Store
from tests.fixtures.http import TOKEN, wait_for

BERLIN = ZoneInfo("Europe/Berlin")
REPLY_KEYS = {"id", "ok", "intent", "slots", "speech"}


def say(c: httpx.Client, text: str, site: str | None = None) -> dict:
    body = {"text": text} if site is None else {"text": text, "site": site}
    r = c.post("/api/command", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def stored(hd, item_id: str):
    store = Store(hd.db, readonly=True)
    try:
        return store.get(item_id)
    finally:
        store.close()


def first_id(reply_items: dict, **match) -> str:
    for it in reply_items["items"]:
        if all(it.get(k) == v for k, v in match.items()):
            return it["id"]
    raise AssertionError(f"no item matching {match} in {reply_items}")


def test_token_required_everywhere_but_health(http_daemon):
    with http_daemon.client(auth=False) as anon:
        assert anon.get("/healthz").json()["ok"] is True
        for path in ("/api/items", "/api/status", "/api/shopping_list", "/openapi.json"):
            r = anon.get(path)
            assert r.status_code == 401 and r.json() == {"error": "unauthorized"}, path
        r = anon.get("/api/items", headers={"Authorization": "Bearer wrong-token-xxxxxxxx"})
        assert r.status_code == 401 and r.json() == {"error": "unauthorized"}
        r = anon.post("/api/command", json={"text": "set a timer for 5 minutes"})
        assert r.status_code == 401 and r.json() == {"error": "unauthorized"}
        r = anon.get("/calendar.ics", params={"token": "nope"})
        assert r.status_code == 401 and r.json() == {"error": "unauthorized"}
        # The main token does not open the feed: only the derived read-only feed token does.
        assert anon.get("/calendar.ics", params={"token": TOKEN}).status_code == 401
        r = anon.get("/timers")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Ftimers"


def test_command_gives_the_mqtt_reply_and_stores_the_item(http_daemon):
    with http_daemon.client() as c:
        reply = say(c, "remind me to descale the kettle in 2 hours")
        assert set(reply) == REPLY_KEYS and reply["ok"] and reply["intent"] == "reminder.create"
        assert reply["slots"]["subject"] == "descale the kettle"
        items = c.get("/api/items", params={"kind": "reminder", "q": "kettle"}).json()
        item_id = first_id(items, subject="descale the kettle")
        item = stored(http_daemon, item_id)
        assert item.status == "pending" and item.kind == "reminder"
        assert abs(item.due_ts - datetime.fromisoformat(reply["slots"]["when"]).timestamp()) < 1
        bad = say(c, "")
        assert bad["ok"] is False and bad["error"]


def test_follow_up_question_is_answered_on_the_same_site(http_daemon):
    with http_daemon.client() as c:
        ask = say(c, "remind me to call grandma", site="hall")
        assert ask["ok"] and ask["speech"].endswith("?")
        done = say(c, "tomorrow at 5 pm", site="hall")
        assert done["ok"] and done["intent"] == "reminder.create", done
        items = c.get("/api/items", params={"site": "hall"}).json()["items"]
        assert [it["subject"] for it in items] == ["call grandma"]
        assert items[0]["due"].endswith("T17:00:00+01:00")


def test_item_filters_and_their_errors(http_daemon):
    with http_daemon.client() as c:
        say(c, "set an alarm for 6:45 tomorrow", site="filters")
        say(c, "remind me to pay the rent on friday at 9 am", site="filters")
        alarms = c.get("/api/items", params={"site": "filters", "kind": "alarm"}).json()
        assert alarms["count"] == 1 and alarms["items"][0]["kind"] == "alarm"
        now = datetime.now(BERLIN)
        window = c.get("/api/items", params={
            "site": "filters", "from": now.isoformat(),
            "to": (now + timedelta(days=8)).replace(tzinfo=None).isoformat()}).json()
        assert window["count"] == 2
        assert c.get("/api/items", params={"kind": "meeting"}).status_code == 422
        assert c.get("/api/items", params={"limit": 0}).status_code == 422
        assert c.get("/api/items", params={"from": "next tuesday"}).status_code == 422


def test_patch_moves_renames_and_the_item_fires_at_its_new_time(http_daemon):
    with http_daemon.client() as c:
        say(c, "remind me to feed the cat in 3 hours", site="patch")
        item_id = first_id(c.get("/api/items", params={"site": "patch"}).json(),
                           subject="feed the cat")
        r = c.get(f"/api/items/{item_id}")
        etag = r.headers["etag"]
        new_due = datetime.now(BERLIN).replace(microsecond=0) + timedelta(seconds=3)
        events: list[tuple[str, dict]] = []
        stream = threading.Thread(target=_collect_events, args=(http_daemon, events, 12),
                                  daemon=True)
        stream.start()
        time.sleep(0.5)
        r = c.patch(f"/api/items/{item_id}", json={"due": new_due.isoformat(),
                                                    "subject": "feed the cats"},
                    headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        assert r.json()["subject"] == "feed the cats" and r.headers["etag"] != etag
        item = stored(http_daemon, item_id)
        assert item.subject == "feed the cats" and abs(item.due_ts - new_due.timestamp()) < 0.01
        # The scheduler got a wake-up for the new time: it fires, and the stream says so.
        fired = wait_for(lambda: [d for e, d in events if e == "fired" and d["id"] == item_id],
                         timeout=15)
        assert fired[0]["type"] == "reminder.due" and fired[0]["late_s"] < 2
        assert stored(http_daemon, item_id).status == "fired"
        assert any(e == "item.changed" and d["id"] == item_id for e, d in events)
        # The stale version is now a clear conflict, and a fired item cannot be moved.
        r = c.patch(f"/api/items/{item_id}", json={"subject": "x"}, headers={"If-Match": etag})
        assert r.status_code == 409 and "fired" in r.json()["error"]


def _collect_events(hd, out: list, seconds: float) -> None:
    with hd.client() as c, c.stream("GET", "/api/events", timeout=seconds + 5) as r:
        kind, t0 = None, time.monotonic()
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                out.append((kind, json.loads(line[6:])))
            if time.monotonic() - t0 > seconds:
                return


def test_concurrent_edits_last_write_wins_or_412(http_daemon):
    with http_daemon.client() as c:
        say(c, "remind me to book the garage in 5 hours", site="race")
        item_id = first_id(c.get("/api/items", params={"site": "race"}).json(),
                           subject="book the garage")
        etag = c.get(f"/api/items/{item_id}").headers["etag"]
        names = [f"book the garage {i}" for i in range(8)]
        codes: list[int] = []

        def rename(name: str) -> None:
            with http_daemon.client() as own:
                codes.append(own.patch(f"/api/items/{item_id}", json={"subject": name}).status_code)

        threads = [threading.Thread(target=rename, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * 8
        final = c.get(f"/api/items/{item_id}").json()["subject"]
        assert final in names and stored(http_daemon, item_id).subject == final
        r = c.patch(f"/api/items/{item_id}", json={"subject": "late"}, headers={"If-Match": etag})
        assert r.status_code == 412 and "someone else" in r.json()["error"]
        assert c.patch(f"/api/items/{item_id}", json={}).status_code == 422
        past = (datetime.now(BERLIN) - timedelta(hours=1)).isoformat()
        r = c.patch(f"/api/items/{item_id}", json={"due": past})
        assert r.status_code == 422 and "past" in r.json()["error"]
        say(c, "remind me every monday at 8 am to water the ferns", site="race")
        rec = first_id(c.get("/api/items", params={"site": "race", "q": "ferns"}).json())
        r = c.patch(f"/api/items/{rec}", json={"due": (datetime.now(BERLIN) + timedelta(days=1))
                                              .isoformat()})
        assert r.status_code == 409 and "repeating" in r.json()["error"]


def test_delete_cancels_once_and_unknown_ids_are_404(http_daemon):
    with http_daemon.client() as c:
        say(c, "set a timer for 20 minutes", site="del")
        item_id = first_id(c.get("/api/items", params={"site": "del"}).json(), kind="timer")
        r = c.delete(f"/api/items/{item_id}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert stored(http_daemon, item_id).status == "cancelled"
        assert c.get("/api/items", params={"site": "del"}).json()["count"] == 0
        assert c.delete(f"/api/items/{item_id}").status_code == 409
        for method in ("get", "delete"):
            r = getattr(c, method)("/api/items/does-not-exist")
            assert r.status_code == 404 and r.json()["error"]
        assert c.patch("/api/items/does-not-exist", json={"subject": "x"}).status_code == 404


def test_bad_bodies_get_clear_errors(http_daemon):
    with http_daemon.client() as c:
        r = c.post("/api/command", content=b'{"text": ', headers={"content-type":
                                                                    "application/json"})
        assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
        r = c.post("/api/command", content=b'{"text": "hi"}',
                   headers={"content-type": "text/plain"})  # what a cross-site form can send
        assert r.status_code == 422 and "Content-Type: application/json" in r.json()["error"]
        r = c.post("/api/command", json={"text": "hi", "volume": 11})
        assert r.status_code == 422 and r.json()["error"] == "volume: unknown field"
        r = c.post("/api/command", json={"text": 42})
        assert r.status_code == 422 and r.json()["error"].startswith("text:")
        r = c.post("/api/command", json={"text": "hi", "site": "a/b"})
        assert r.status_code == 422
        r = c.post("/api/command", json={"text": "x" * 20000})
        assert r.status_code == 413 and "16384" in r.json()["error"]

        def chunks():  # no Content-Length: the limit still holds
            for _ in range(40):
                yield b"x" * 1000

        r = c.post("/api/command", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        too_long = say(c, "remind me to " + "a" * 1200)
        assert too_long["ok"] is False and "too long" in too_long["speech"]
        assert c.get("/healthz").status_code == 200


def test_cross_site_requests_and_headers(http_daemon):
    with http_daemon.client() as c:
        r = c.post("/api/command", json={"text": "set a timer for 1 minute"},
                   headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = c.get("/")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "<script>" not in r.text.replace('<script src="/static/app.js" defer></script>', "")
        assert c.get("/static/").status_code == 404  # no directory listing
        assert c.get("/static/app.js").status_code == 200
        # A form post without the CSRF token is refused, with it (cookie + field) accepted.
        assert c.post("/shopping", data={"text": "bread"}).status_code == 403
        csrf = _csrf_field(r.text)
        r = c.post("/shopping", data={"text": "bread", "csrf": csrf})
        assert r.status_code == 303
    with http_daemon.client(cookies={"assistant_csrf": "A" * 43}) as other:
        r = other.post("/shopping", data={"text": "bread", "csrf": csrf})
        assert r.status_code == 403  # the token belongs to another browser's cookie


def _csrf_field(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def test_user_text_is_escaped_on_pages(http_daemon):
    with http_daemon.client() as c:
        reply = say(c, "remind me to <script>alert(1)</script> in 4 hours", site="xss")
        assert reply["ok"], reply
        page = c.get("/").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page


def test_shopping_list_api(http_daemon):
    with http_daemon.client() as c:
        r = c.post("/api/shopping_list", json={"text": "  oat   milk "})
        assert r.status_code == 201 and r.json()["text"] == "oat milk"
        sid = r.json()["id"]
        assert c.post("/api/shopping_list", json={"text": ""}).status_code == 422
        assert c.post("/api/shopping_list", json={"text": "x", "qty": 2}).status_code == 422
        r = c.patch(f"/api/shopping_list/{sid}", json={"done": True})
        assert r.json()["done"] is True
        listed = {it["id"]: it for it in c.get("/api/shopping_list").json()["items"]}
        assert listed[sid]["done"] is True
        assert c.patch("/api/shopping_list/nope", json={"done": True}).status_code == 404
        assert c.delete(f"/api/shopping_list/{sid}").status_code == 200
        assert c.delete(f"/api/shopping_list/{sid}").status_code == 404


def test_status_api_and_page_charts(http_daemon):
    with http_daemon.client() as c:
        st = c.get("/api/status").json()
        assert {"pending", "fired", "latency_ms_p50", "pid", "http"} <= set(st)
        assert st["http"]["requests_24h"]["count"] > 0
        page = c.get("/status").text
        assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
        assert 'role="img"' in page and "Fire lateness" in page
        spec = c.get("/openapi.json").json()
        paths = set(spec["paths"])
        assert {"/api/items", "/api/items/{item_id}", "/api/command", "/api/status",
                "/api/shopping_list", "/api/events", "/calendar.ics"} <= paths
        assert set(spec["paths"]["/api/items/{item_id}"]) >= {"get", "patch", "delete"}
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_event_stream_sends_ticks_and_changes(http_daemon):
    events: list[tuple[str, dict]] = []
    t = threading.Thread(target=_collect_events, args=(http_daemon, events, 4), daemon=True)
    t.start()
    time.sleep(0.5)
    with http_daemon.client() as c:
        say(c, "set a tea timer for 10 minutes", site="sse")
    t.join(10)
    added = [d for e, d in events if e == "item.added" and d.get("site") == "sse"]
    assert added and added[0]["kind"] == "timer" and added[0]["label"] == "tea"
    ticks = [d for e, d in events if e == "tick"]
    assert len(ticks) >= 2
    left = [tm["remaining_s"] for d in ticks for tm in d["timers"] if tm["id"] == added[0]["id"]]
    assert left == sorted(left, reverse=True) and 590 < left[0] <= 600


def test_a_client_that_never_reads_does_not_stall_others(http_daemon):
    """A stalled raw socket subscriber; other requests keep being served promptly."""
    host, port = http_daemon.url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
              f"{TOKEN}\r\n\r\n".encode())
    try:
        with http_daemon.client() as c:
            for i in range(30):
                r = c.post("/api/shopping_list", json={"text": f"thing {i}"})
                assert r.status_code == 201
            t0 = time.monotonic()
            assert c.get("/api/items").status_code == 200
            assert time.monotonic() - t0 < 5
    finally:
        s.close()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80"])
def test_host_check_only_without_token(tmp_path, host):
    from tests.fixtures.http import spawn, stop

    hd = spawn(tmp_path, token=None)
    try:
        with hd.client() as c:
            assert c.get("/api/items").status_code == 200  # loopback, no token: open
            assert c.get("/api/items", headers={"Host": host}).status_code == 421
    finally:
        stop(hd)
