"""Issue 14's proof with the real daemon and broker: SIGKILL around start-up firing, with
the broker up and down, and a command id repeated across a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.fixtures.daemon import ROOT, write_config

pytestmark = pytest.mark.slow


def body(msg):
    return json.loads(msg.payload)


def ask(probe, text, id_, site="default", timeout=30):
    probe.publish(f"assistant/{site}/command", json.dumps({"text": text, "id": id_}))
    msg = probe.expect(lambda m: m.topic.endswith("/reply") and body(m).get("id") == id_,
                       timeout=timeout, what=f"reply to {text!r}")
    return body(msg)


def pending(cfg):
    out = subprocess.run([sys.executable, "-m", "assistant", "reminders", "list", "--json",
                          "--config", str(cfg)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return json.loads(out.stdout)


def collect_events(probe, want_ids, timeout):
    """Events received until every item id in `want_ids` was seen (or the time is up)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not want_ids <= {e["id"] for e in got}:
        got += [body(m) for m in probe.drain(0.5) if m.topic.endswith("/event")]
    return got


@pytest.fixture
def setup(tmp_path, mosquitto, probe_factory, start_daemon):
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "client_id": "assistant-x1",
                                       "discovery": False, "rate_limit_per_s": 1000.0,
                                       "rate_burst": 1000})
    probe = probe_factory(mosquitto, client_id="x1-probe", persistent=True,
                          subscribe=["assistant/+/reply", "assistant/+/event", "assistant/status"])
    return cfg, probe


def online(probe, timeout=30):
    """The daemon subscribes before it publishes `online`: commands sent after this are heard."""
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online",
                 timeout=timeout, what="the daemon online")


def make_reminders(probe, n, seconds, tag):
    ids = []
    for i in range(n):
        r = ask(probe, f"remind me to water plant {i} in {seconds} seconds", f"{tag}-{i}")
        assert r["ok"] and r["intent"] == "reminder.create", r
        ids.append(r)
    return ids


def test_events_fired_while_the_broker_was_down_arrive_after_a_sigkill(setup, mosquitto,
                                                                       start_daemon):
    cfg, probe = setup
    d = start_daemon(cfg)
    d.wait_ready()
    online(probe)
    t0 = time.monotonic()
    make_reminders(probe, 20, 15, "down")
    items = {it["id"] for it in pending(cfg)}
    assert len(items) == 20
    mosquitto.stop()
    assert time.monotonic() - t0 < 14, "too slow to create the reminders before they are due"
    time.sleep(t0 + 17 - time.monotonic())  # all 20 fire while the broker is away
    d.kill()
    assert pending(cfg) == []
    mosquitto.start()
    d2 = start_daemon(cfg)
    d2.wait_ready()
    events = collect_events(probe, items, 60)
    assert {e["id"] for e in events} == items, d2.log()[-3000:]
    # at least once, and a repeat (if any) carries the same event id
    assert len({e["event_id"] for e in events}) == 20
    assert all(e["type"] == "reminder.due" and e["late_s"] > 0 for e in events)
    d2.terminate()


def test_sigkill_right_after_start_up_firing_loses_no_event(setup, start_daemon):
    cfg, probe = setup
    d = start_daemon(cfg)
    d.wait_ready()
    online(probe)
    t0 = time.monotonic()
    make_reminders(probe, 20, 15, "boot")
    items = {it["id"] for it in pending(cfg)}
    d.kill()
    assert len(items) == 20 and time.monotonic() - t0 < 14
    time.sleep(t0 + 17 - time.monotonic())  # due while the daemon is down
    probe.drain(0.1)
    d2 = start_daemon(cfg)
    d2.wait_ready()
    d2.kill()  # right after start-up firing, before MQTT may have sent anything
    first = [body(m) for m in probe.drain(0.5) if m.topic.endswith("/event")]
    d3 = start_daemon(cfg)
    d3.wait_ready()
    rest = collect_events(probe, items - {e["id"] for e in first}, 60)
    events = first + rest
    assert {e["id"] for e in events} == items, (len(first), len(rest), d3.log()[-3000:])
    assert len({e["event_id"] for e in events}) == 20  # one occurrence each, never two
    d3.terminate()


def test_a_command_id_repeated_across_a_crash_acts_once(setup, start_daemon):
    cfg, probe = setup
    d = start_daemon(cfg)
    d.wait_ready()
    online(probe)
    first = ask(probe, "remind me to renew the passport tomorrow at 10 am", "passport-1")
    assert first["ok"]
    d.kill()
    d2 = start_daemon(cfg)
    d2.wait_ready()
    online(probe)
    again = ask(probe, "remind me to renew the passport tomorrow at 10 am", "passport-1")
    assert again == first
    assert [it["subject"] for it in pending(cfg)] == ["renew the passport"]
    d2.terminate()


def test_chaos_bench_short_run_loses_and_doubles_nothing(tmp_path):
    """bench/chaos.py, 3 cycles (the README quotes the 100-cycle run)."""
    res = subprocess.run([sys.executable, "bench/chaos.py", "--cycles", "3", "--seed", "3",
                          "--json"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["commands"] > 0 and out["reminders"] == out["commands"], out
    for key in ("actions_lost", "actions_twice", "replies_missing", "replies_differing",
                "events_lost", "events_twice", "not_fired"):
        assert out[key] == 0, out
    assert res.returncode == 0
