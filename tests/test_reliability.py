"""Nothing lost, nothing twice, nothing blocks (issue 14), with real parts.

Poison payloads are answered and acknowledged; every command in a burst gets a reply
(served or busy); a command id seen before gets the same reply and no second action; fired
events survive a SIGKILL in the outbox and arrive after the restart; timers and snoozes
across DST changes last their real length; "stop" silences every ringing of an alarm; an
empty or foreign file is not taken for a database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.mqtt.payloads import PayloadError, parse_command
from assistant.pipeline import Assistant
from assistant.store.db import Item, Store, StoreError
from tests.fixtures.broker import mqtt_config
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import ROOT, write_config

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def body(msg):
    return json.loads(msg.payload)


def echo(req):
    from assistant.events import Reply, empty_slots

    return Reply(id=req.id, ok=True, intent="echo", slots=empty_slots(),
                 speech=f"{req.site}: {req.text}", site=req.site)


POISON = [
    b'{"text": "hi", "id": ' + b"9" * 5000 + b"}",  # over Python's int digit limit
    b'{"text": "hi", "id": "\\ud800"}',  # a lone surrogate: valid JSON, not encodable
    b'{"text": "\\udfff oops", "id": "s2"}',
    b"[" * 100_000 + b"]" * 100_000,  # nested too deeply (and too large)
    b'{"text": "hi", "id": -' + b"1" * 4400 + b"}",
    b'{"text": 1e999999}',
    b"\xff\xfe\x00garbage",
]


# -- payload parsing ---------------------------------------------------------------------
@pytest.mark.parametrize("payload", POISON)
def test_poison_payloads_raise_a_payload_error(payload):
    with pytest.raises(PayloadError) as err:
        parse_command(payload, "default", 10_000_000)
    assert str(err.value)
    if err.value.id is not None:  # whatever is echoed back must be encodable
        json.dumps(err.value.id).encode("utf-8")


def test_a_long_integer_id_is_refused_like_a_long_string():
    with pytest.raises(PayloadError, match="longer than"):
        parse_command(b'{"text": "hi", "id": ' + b"7" * 300 + b"}", "default", 65536)


# -- over MQTT: poison never blocks, bursts are all answered -------------------------------
def test_150_poison_payloads_over_many_sites_then_a_normal_command_is_answered(
        mosquitto, service_factory, probe_factory):
    cfg = mqtt_config(mosquitto, rate_limit_per_s=1000.0, rate_burst=1000,
                      max_payload_bytes=300_000, client_id="assistant-poison")
    svc = service_factory(cfg, echo)
    p = probe_factory(mosquitto, subscribe=["assistant/+/reply"])
    sent = 0
    for i in range(150):
        p.publish(f"assistant/room{i % 15}/command", POISON[i % len(POISON)])
        sent += 1
    replies = [body(m) for m in p.drain(2.0) if m.topic.endswith("/reply")]
    assert len(replies) == sent and all(r["ok"] is False and r["error"] for r in replies)
    p.publish("assistant/room3/command", json.dumps({"text": "still here?", "id": "after"}))
    r = body(p.expect(lambda m: m.topic == "assistant/room3/reply" and body(m)["id"] == "after"))
    assert r["ok"] is True and r["speech"] == "room3: still here?"

    # poison sent while the daemon is away is served (refused) after it comes back, and does
    # not stop the next normal command either
    svc.stop()
    for i in range(150):
        p.publish(f"assistant/room{i % 15}/command", POISON[i % len(POISON)])
    p.publish("assistant/room9/command", json.dumps({"text": "and now?", "id": "after2"}))
    time.sleep(0.3)
    service_factory(cfg, echo)
    r = body(p.expect(lambda m: m.topic == "assistant/room9/reply" and body(m)["id"] == "after2",
                      timeout=30))
    assert r["ok"] is True


@pytest.mark.slow
def test_a_burst_of_3000_commands_gets_3000_replies(mosquitto, service_factory, probe_factory):
    svc = service_factory(mqtt_config(mosquitto), echo)  # default rate limits
    p = probe_factory(mosquitto, subscribe=["assistant/+/reply"])
    for i in range(3000):
        p.publish(f"assistant/site{i % 3}/command", json.dumps({"text": "hi", "id": i}))
    replies = []
    deadline = time.monotonic() + 120
    while len(replies) < 3000 and time.monotonic() < deadline:
        replies += [body(m) for m in p.drain(1.0) if m.topic.endswith("/reply")]
    ids = sorted(r["id"] for r in replies)
    assert ids == list(range(3000)), f"{len(ids)} replies"
    served = sum(r["ok"] for r in replies)
    busy = [r for r in replies if not r["ok"]]
    assert served >= 120 and all(r["error"].startswith("busy:") for r in busy)
    snap = svc.snapshot()
    assert snap["busy"] == len(busy) and snap["received"] == 3000


# -- the pipeline: a command id acts once -------------------------------------------------
@pytest.fixture(scope="module")
def parser(tmp_path_factory):
    from assistant.nlu.parser import Parser

    return Parser(config.load(write_config(tmp_path_factory.mktemp("parser"))))


@pytest.fixture
def make(tmp_path, parser):
    made = []

    def make(now, zone="Europe/Berlin", **sections):
        cfg = config.load(write_config(tmp_path, time={"timezone": zone}, **sections))
        clock = Clock(now)
        a = Assistant(cfg, parser=parser, schedule=True, clock=clock)
        a.clock_ctl = clock
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def test_the_same_command_id_twice_acts_once_and_replies_the_same(make):
    a = make(datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN))
    req = dict(text="remind me to feed the cat in 2 hours", site="kitchen", key="kitchen\x1fid:7")
    first = a.handle(Request(id="7", **req))
    second = a.handle(Request(id="7", **req))
    assert first.ok and second.to_json() == first.to_json()
    assert len(a.store.pending()) == 1
    # another site's id 7 is another command
    other = a.handle(Request(id="7", text="remind me to feed the cat in 2 hours", site="hall",
                             key="hall\x1fid:7"))
    assert other.ok and len(a.store.pending()) == 2


def test_a_handler_that_raises_leaves_no_partial_write(make, monkeypatch):
    from dataclasses import replace

    a = make(datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN))
    intent = a.registry.intents["reminder.create"]

    def half_done(ctx, parsed):
        intent.handler(ctx, parsed)  # stores the reminder...
        raise RuntimeError("disk on fire")  # ...then fails before answering

    monkeypatch.setitem(a.registry.intents, "reminder.create", replace(intent, handler=half_done))
    r = a.handle(Request(text="remind me to water the plants at 6 pm", key="default\x1fid:h1"))
    assert r.ok is False and "went wrong" in r.speech
    assert a.store.pending() == []
    # the failure is what a repeat of the same id gets, not a second try that half-writes
    again = a.handle(Request(text="remind me to water the plants at 6 pm", key="default\x1fid:h1"))
    assert again.to_json() == r.to_json() and a.store.pending() == []


# -- time arithmetic across DST changes ---------------------------------------------------
DST_NIGHTS = [
    (datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN), "Europe/Berlin"),  # spring forward
    (datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN), "Europe/Berlin"),  # fall back
    (datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK), "America/New_York"),
    (datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), "America/New_York"),
]


@pytest.mark.parametrize("now,zone", DST_NIGHTS, ids=["berlin-spring", "berlin-fall",
                                                      "ny-spring", "ny-fall"])
def test_durations_across_dst_last_their_real_length(make, now, zone):
    a = make(now, zone=zone)
    t0 = now.timestamp()
    r = a.handle(Request(text="set a timer for 3 hours"))
    assert r.ok, r.speech
    r = a.handle(Request(text="remind me to check the bread in 3 hours"))
    assert r.ok, r.speech
    got = sorted(round(it.due_ts - t0) for it in a.store.pending())
    assert got == [3 * 3600, 3 * 3600]
    # the reminder fires, then "snooze for 2 hours" lasts 2 real hours
    a.clock_ctl.advance(3 * 3600)
    a.scheduler.process_due()
    r = a.handle(Request(text="snooze for 2 hours"))
    assert r.ok, r.speech
    snoozed = [it for it in a.store.pending()]
    assert [round(it.due_ts - t0) for it in snoozed] == [5 * 3600]


# -- alarms ---------------------------------------------------------------------------------
def test_stop_silences_every_ringing_of_a_recurring_alarm(make):
    a = make(datetime(2026, 3, 27, 6, 50, tzinfo=BERLIN),
             scheduler={"alarm_repeat_s": 30, "alarm_min_interval_s": 300,
                        "alarm_timeout_s": 3600})
    events = []
    a.listeners.append(events.append)
    r = a.handle(Request(text="set an alarm every 5 minutes"))
    assert r.ok, r.speech
    for _ in range(3):  # three occurrences fire; none is stopped in between
        a.clock_ctl.advance(300)
        a.scheduler.process_due()
    state = a.dialogues.site("default")
    assert len(state.ringing) == 1  # a newer occurrence replaced the older ringing
    a.clock_ctl.advance(31)
    assert a.ring_tick() == 1  # one alarm rings, not three
    repeat = events[-1]
    assert repeat.event_id.endswith("-r1") and not repeat.outboxed
    r = a.handle(Request(text="stop"))
    assert r.ok and r.intent == "alarm.stop"
    n = len(events)
    for _ in range(5):
        a.clock_ctl.advance(31)
        a.ring_tick()
    assert len(events) == n and state.ringing == {}


def test_an_alarm_repeating_every_few_seconds_is_refused(make):
    a = make(datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN))
    r = a.handle(Request(text="set an alarm every 10 seconds"))
    assert r.ok is False and "at most every 5 minutes" in r.speech
    assert a.store.pending() == []


# -- storage edges --------------------------------------------------------------------------
def test_an_empty_or_foreign_file_is_refused_as_corrupt(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(StoreError, match="corrupt.*0 bytes"):
        Store(empty)
    assert empty.stat().st_size == 0  # left as it was, for the admin to look at
    foreign = tmp_path / "notes.db"
    foreign.write_text("shopping: milk, eggs\n" * 50)
    with pytest.raises(StoreError, match="corrupt"):
        Store(foreign)


def test_an_unwritable_place_without_a_database_is_one_clear_line(tmp_path):
    cfg = write_config(tmp_path, storage={"path": "/proc/assistant-test/state/assistant.db"})
    res = subprocess.run([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert "/proc/assistant-test/state" in res.stderr
    assert "[storage] path" in res.stderr


def test_outbox_rows_are_written_with_the_fire_and_removed_when_done(tmp_path):
    store = Store(tmp_path / "s.db")
    item = store.add(Item(kind="timer", due_ts=time.time() - 1, zone="UTC"))
    claimed = store.claim_due(time.time(), lambda it: None,
                              record=lambda it, late, now: {"event_id": f"{it.id}-1",
                                                            "type": "timer.done", "id": it.id})
    assert [it.id for it, _ in claimed] == [item.id]
    rows = store.outbox_pending()
    assert [ev["event_id"] for _, ev in rows] == [f"{item.id}-1"]
    store.outbox_done([rows[0][0]])
    assert store.outbox_pending() == [] and store.get(item.id).status == "fired"
    store.close()


def test_per_site_state_stays_bounded_but_keeps_what_matters():
    from assistant.dialogue import MAX_IDLE_SITES, Dialogues

    d = Dialogues()
    asking = d.site("kitchen")
    asking.ringing["a1"] = lambda: None  # an alarm rings there
    for i in range(5 * MAX_IDLE_SITES):  # a fuzzer inventing site names
        d.site(f"fuzz-{i}")
    assert len(d.all()) <= MAX_IDLE_SITES + 1
    assert d.site("kitchen") is asking
