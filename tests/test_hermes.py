"""Hermes (Rhasspy 2.5 / Snips) against the real daemon: a question back continues the
session and its answer goes to the question's skill; intentFilter is honoured; slot values
have the Snips/Rhasspy shapes; poison payloads are answered on hermes/error/nlu and the
daemon goes on (real broker, real model, real store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.mqtt import hermes
from tests.fixtures.daemon import ROOT, write_config

pytestmark = pytest.mark.slow

TOPICS = ["hermes/intent/#", "hermes/nlu/#", "hermes/dialogueManager/#", "hermes/tts/#",
          "hermes/error/#"]


@pytest.fixture
def hermes_daemon(tmp_path, mosquitto, start_daemon, probe_factory):  # type: ignore[no-untyped-def]
    if not (ROOT / "models" / "l6-int8" / "model.onnx").exists():
        pytest.skip("no exported model in models/: run `assistant export-model`")
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "hermes": True,
                                       "client_id": f"hermes-test-{tmp_path.name}"})
    d = start_daemon(cfg)
    d.wait_ready()
    wait_online(mosquitto, probe_factory)
    return cfg, d


def wait_online(mosquitto, probe_factory) -> None:  # type: ignore[no-untyped-def]
    """READY=1 comes before the broker connection; `online` is published after subscribing."""
    status = probe_factory(mosquitto, subscribe=["assistant/status"])
    status.expect(lambda m: m.payload == b"online", timeout=20, what="assistant/status online")


def query(probe, **fields) -> None:  # type: ignore[no-untyped-def]
    probe.publish(hermes.QUERY, json.dumps({"siteId": "default", **fields}))


def payload(probe, topic: str):  # type: ignore[no-untyped-def]
    return json.loads(probe.expect(lambda m: m.topic == topic, timeout=20, what=topic).payload)


def pending(cfg: Path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "assistant", "reminders", "list", "--json",
                          "--config", str(cfg)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    return json.loads(out)


def test_follow_up_continues_the_session_and_routes_the_answer(hermes_daemon, mosquitto,
                                                               probe_factory):
    cfg, _ = hermes_daemon
    p = probe_factory(mosquitto, subscribe=TOPICS)
    query(p, input="remind me to call mom", sessionId="s-7", id="q1", customData="ctx")
    first = payload(p, "hermes/intent/reminder.create")
    assert first["sessionId"] == "s-7" and first["id"] == "q1"
    cont = payload(p, hermes.CONTINUE_SESSION)
    assert cont["sessionId"] == "s-7" and cont["text"] == "When should I remind you?"
    assert cont["customData"] == "ctx" and cont["sendIntentNotRecognized"] is True
    assert not [m for m in p.drain(0.5) if m.topic == hermes.END_SESSION]
    # Rhasspy listens again and sends the answer in the same session.
    query(p, input="at 6 pm", sessionId="s-7", id="q2")
    answer = payload(p, "hermes/intent/reminder.create")
    assert answer["id"] == "q2" and answer["input"] == "at 6 pm"
    slots = {s["slotName"]: s for s in answer["slots"]}
    assert slots["subject"]["value"] == {"kind": "Unknown", "value": "call mom"}
    when = slots["when"]
    assert when["entity"] == "snips/datetime" and when["value"]["kind"] == "InstantTime"
    assert when["value"]["value"].endswith(":00 +01:00") or when["value"]["value"].endswith(":00 +02:00")
    assert when["value"]["grain"] == "Minute" and when["value"]["precision"] == "Exact"
    assert when["rawValue"] == when["value"]["value"]
    end = payload(p, hermes.END_SESSION)
    assert end["sessionId"] == "s-7" and "call mom" in end["text"]
    assert not [m for m in p.drain(0.3) if m.topic == hermes.NOT_RECOGNIZED]
    assert [it["subject"] for it in pending(cfg)] == ["call mom"]


def test_intent_filter_is_honoured_and_duration_has_the_snips_shape(hermes_daemon, mosquitto,
                                                                    probe_factory):
    cfg, _ = hermes_daemon
    p = probe_factory(mosquitto, subscribe=TOPICS)
    query(p, input="set a timer for 90 minutes", sessionId="s-1", id="f1",
          intentFilter=["reminder.create", "alarm.set"])
    nr = payload(p, hermes.NOT_RECOGNIZED)
    assert nr["id"] == "f1" and nr["sessionId"] == "s-1"
    assert not [m for m in p.drain(0.5) if m.topic.startswith("hermes/intent/")]
    assert pending(cfg) == []  # nothing acted on
    query(p, input="set a timer for 90 minutes", sessionId="s-2", id="f2",
          intentFilter=["timer.start"])
    msg = payload(p, "hermes/intent/timer.start")
    dur = {s["slotName"]: s for s in msg["slots"]}["duration_s"]
    assert dur["entity"] == "snips/duration"
    assert dur["value"] == {"kind": "Duration", "years": 0, "quarters": 0, "months": 0,
                            "weeks": 0, "days": 0, "hours": 1, "minutes": 30, "seconds": 0,
                            "precision": "Exact", "value": 5400}
    assert dur["rawValue"] == "1 hour and 30 minutes"
    assert payload(p, hermes.END_SESSION)["sessionId"] == "s-2"
    assert [it["kind"] for it in pending(cfg)] == ["timer"]


POISON = {
    "huge integer": b'{"input": "hi", "id": ' + b"9" * 5000 + b"}",
    "lone surrogate": b'{"input": "set a timer \\ud800", "siteId": "default"}',
    "deep nesting": b'{"input": "hi", "customData": ' + b"[" * 30000 + b"]" * 30000 + b"}",
    "bad utf-8": b'{"input": "\xff\xfe"}',
    "wrong types": b'{"input": "hi", "intentFilter": "timer.start"}',
}


def test_poison_payloads_are_answered_and_the_daemon_goes_on(hermes_daemon, mosquitto,
                                                             probe_factory):
    _, d = hermes_daemon
    p = probe_factory(mosquitto, subscribe=TOPICS)
    for name, body in POISON.items():
        p.publish(hermes.QUERY, body)
        err = payload(p, hermes.ERROR_NLU)
        assert err["error"], name
    query(p, input="what time is it", id="after")
    assert payload(p, "hermes/intent/time.query")["id"] == "after"
    assert d.proc.poll() is None and "Traceback" not in d.log()


@pytest.mark.parametrize("name", list(POISON))
def test_parse_query_turns_every_decoding_failure_into_hermes_error(name: str) -> None:
    with pytest.raises(hermes.HermesError):
        hermes.parse_query(POISON[name], 10_000_000)
