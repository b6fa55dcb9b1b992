"""Issue 13 edits end to end: `assistant say` (one process per request, the store between
them) and MQTT commands to the real daemon on a real Mosquitto."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from tests.fixtures.daemon import ROOT, write_config

pytestmark = pytest.mark.slow


def say(cfg, text):
    res = subprocess.run([sys.executable, "-m", "assistant", "say", text, "--json", "--config",
                          str(cfg)], capture_output=True, text=True, cwd=ROOT, timeout=180)
    return json.loads(res.stdout)


def pending(cfg):
    out = subprocess.run([sys.executable, "-m", "assistant", "reminders", "list", "--json",
                          "--config", str(cfg)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    return json.loads(out.stdout)


def hour(item):
    return datetime.fromisoformat(item["due"]).hour


def test_update_pause_resume_undo_over_assistant_say(tmp_path):
    cfg = write_config(tmp_path)
    assert say(cfg, "remind me to call the bank tomorrow at 6pm")["ok"]
    r = say(cfg, "push the bank reminder back an hour")
    assert r["intent"] == "reminder.update" and r["ok"], r
    assert r["speech"] == "OK, I moved your call the bank reminder to tomorrow at 7 PM."
    [item] = pending(cfg)
    assert hour(item) == 19 and item["subject"] == "call the bank"
    r = say(cfg, "undo")  # the last change is kept in the store: a new process can undo it
    assert r["intent"] == "assistant.undo" and r["ok"], r
    assert [hour(it) for it in pending(cfg)] == [18]

    assert say(cfg, "set a timer for 10 minutes")["ok"]
    r = say(cfg, "pause the timer")
    assert r["intent"] == "timer.pause" and r["ok"] and "left" in r["speech"], r
    assert [it["kind"] for it in pending(cfg)] == ["reminder"]  # a paused timer is not pending
    r = say(cfg, "resume the timer")
    assert r["intent"] == "timer.resume" and r["ok"], r
    timers = [it for it in pending(cfg) if it["kind"] == "timer"]
    assert len(timers) == 1


def ask(probe, text, id_, site="kitchen", timeout=30):
    probe.publish(f"assistant/{site}/command", json.dumps({"text": text, "id": id_}))
    msg = probe.expect(lambda m: m.topic.endswith("/reply") and json.loads(m.payload).get("id")
                       == id_, timeout=timeout, what=f"reply to {text!r}")
    return json.loads(msg.payload)


def test_edits_over_mqtt_with_the_daemon(tmp_path, mosquitto, probe_factory, start_daemon):
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "client_id": "assistant-e1",
                                       "discovery": False})
    probe = probe_factory(mosquitto, client_id="e1-probe",
                          subscribe=["assistant/+/reply", "assistant/status"])
    d = start_daemon(cfg)
    d.wait_ready()
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online",
                 timeout=30, what="the daemon online")
    assert ask(probe, "set an alarm for 7am tomorrow", "e1")["ok"]
    r = ask(probe, "change my alarm to 7:30", "e2")
    assert r["intent"] == "alarm.update" and r["ok"], r
    assert r["speech"] == "OK, I moved your alarm to tomorrow at 7:30 AM."
    [alarm] = pending(cfg)
    assert datetime.fromisoformat(alarm["due"]).strftime("%H:%M") == "07:30"
    assert ask(probe, "set a pasta timer for 8 minutes", "e3")["ok"]
    r = ask(probe, "pause the pasta timer", "e4")
    assert r["intent"] == "timer.pause" and r["ok"], r
    r = ask(probe, "resume the timer", "e5")
    assert r["intent"] == "timer.resume" and r["ok"], r
    r = ask(probe, "undo", "e6")  # the resume is undone: paused again
    assert r["ok"], r
    assert [it["kind"] for it in pending(cfg)] == ["alarm"]
    r = ask(probe, "wake me up in 1 minute", "e7")
    assert r["intent"] in ("alarm.create", "alarm.snooze", "timer.start") and r["ok"], r
    assert len(pending(cfg)) == 2
    d.terminate()
