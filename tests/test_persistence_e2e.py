"""Issue 5's proof: the real daemon, a real broker, SIGKILL, restart — nothing lost, fired once."""

import json
import subprocess
import sys
import time

import pytest

from tests.fixtures.daemon import ROOT, write_config

pytestmark = pytest.mark.slow


def body(msg):
    return json.loads(msg.payload)


def ask(probe, text, site="default", id_=None, timeout=30):
    id_ = id_ or f"q-{time.monotonic_ns()}"
    probe.publish(f"assistant/{site}/command", json.dumps({"text": text, "id": id_}))
    msg = probe.expect(lambda m: m.topic.endswith("/reply") and body(m).get("id") == id_,
                       timeout=timeout, what=f"reply to {text!r}")
    return body(msg)


def pending(cfg):
    out = subprocess.run([sys.executable, "-m", "assistant", "reminders", "list", "--json",
                          "--config", str(cfg)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return json.loads(out.stdout)


def test_sigkill_restart_loses_nothing_and_fires_once(tmp_path, mosquitto, probe_factory,
                                                      start_daemon):
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "client_id": "assistant-e2e",
                                       "discovery": False})
    probe = probe_factory(mosquitto, subscribe=["assistant/+/reply", "assistant/+/event",
                                                "assistant/status"])
    d = start_daemon(cfg)
    d.wait_ready()
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online", timeout=30)

    requests = [
        ("remind me to stretch in 4 seconds", "reminder.create"),
        ("remind me to call my mom tomorrow at 5 pm", "reminder.create"),
        ("set a pasta timer for 2 hours", "timer.start"),
        ("wake me up at 7 am every weekday", "alarm.create"),
        ("schedule a dentist appointment next friday at 3pm", "calendar.create"),
    ]
    for text, intent in requests:
        r = ask(probe, text)
        assert r["ok"] is True and r["intent"] == intent, r
    before = pending(cfg)
    assert len(before) == 5
    stretch = next(it for it in before if it["subject"] == "stretch")

    d.kill()  # SIGKILL: no clean shutdown at all
    time.sleep(6)  # the stretch reminder comes due while the daemon is down
    probe.drain(0.1)

    d2 = start_daemon(cfg)
    d2.wait_ready()
    ev = body(probe.expect(lambda m: m.topic == "assistant/default/event", timeout=30,
                           what="the overdue reminder"))
    assert ev["type"] == "reminder.due" and ev["id"] == stretch["id"]
    assert ev["subject"] == "stretch" and ev["late_s"] > 1
    after = pending(cfg)
    assert {it["id"] for it in after} == {it["id"] for it in before} - {stretch["id"]}

    # a clean restart does not fire it again
    code, took = d2.terminate()
    assert code == 0 and took < 5
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"offline", timeout=10)
    d3 = start_daemon(cfg)
    d3.wait_ready()
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online", timeout=30)
    time.sleep(2)
    again = [m for m in probe.drain(0.5) if m.topic.endswith("/event")]
    assert again == []

    # dialogue over MQTT: list, cancel all -> confirm -> no, cancel one
    r = ask(probe, "what are my reminders")
    assert r["ok"] and "call your mom" in r["speech"]
    r = ask(probe, "cancel all my reminders")
    assert r["speech"].startswith("Do you want me to cancel all")
    r = ask(probe, "no")
    assert r["speech"] == "OK, I'll leave them."
    r = ask(probe, "cancel my reminder to call my mom")
    assert r["ok"] and "cancelled" in r["speech"]
    assert len(pending(cfg)) == 3
    code, _ = d3.terminate()
    assert code == 0
