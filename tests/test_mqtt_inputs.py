"""Bad input and load against a running service: every bad payload gets a clear ok:false."""

from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.events import Reply, Request, empty_slots
from tests.fixtures.broker import mqtt_config


def echo(req: Request) -> Reply:
    return Reply(id=req.id, ok=True, intent="echo", slots=empty_slots(), speech=req.text,
                 site=req.site)


def body(msg) -> dict:
    return json.loads(msg.payload)


BAD = [
    (b"\xff\xfeoops", "payload is not UTF-8 text: byte 0xff at position 0"),
    (b'{"text": "hi", ', "invalid JSON: Expecting property name enclosed in double quotes"),
    (b'["text", "hi"]', "expected a JSON object"),
    (b'{"text": "hi", "volume": 3}', "unknown field(s) 'volume': allowed are text, id"),
    (b'{"id": "x"}', "missing field 'text'"),
    (b'{"text": 5}', "field 'text' must be a string, got a number"),
    (b'{"text": "hi", "id": [1]}', "field 'id' must be a string or an integer, got a list"),
    (b'{"text": "   "}', "field 'text' is empty"),
    (b"   ", "empty command"),
    (b"x" * (1024 * 1024), "payload too large: 1048576 bytes, the limit is 65536"),
]


def test_bad_payloads_get_ok_false_naming_the_problem(mosquitto, service_factory, probe_factory):
    service_factory(mqtt_config(mosquitto), echo)
    p = probe_factory(mosquitto, subscribe=["assistant/+/reply"])
    for payload, expected in BAD:
        p.publish("assistant/default/command", payload)
        r = body(p.expect(lambda m: m.topic == "assistant/default/reply", what=repr(payload[:30])))
        assert r["ok"] is False, payload[:40]
        assert expected in r["error"], (payload[:40], r["error"])
        assert set(r) == {"id", "ok", "intent", "slots", "speech", "error"}
    # an id that could be read is echoed even when the request is refused
    p.publish("assistant/default/command", json.dumps({"text": "hi", "id": "k1", "extra": 1}))
    r = body(p.expect(lambda m: m.topic == "assistant/default/reply"))
    assert r["id"] == "k1" and r["ok"] is False
    # and the service goes on serving
    p.publish("assistant/default/command", json.dumps({"text": "still fine", "id": "ok"}))
    r = body(p.expect(lambda m: m.topic == "assistant/default/reply"))
    assert r == {"id": "ok", "ok": True, "intent": "echo", "slots": empty_slots(), "speech": "still fine"}


def test_bad_site_name_is_refused(mosquitto, service_factory, probe_factory):
    service_factory(mqtt_config(mosquitto), echo)
    p = probe_factory(mosquitto, subscribe=["assistant/+/reply"])
    p.publish("assistant/bad site!/command", "hi")
    r = body(p.expect(lambda m: m.topic == "assistant/bad site!/reply"))
    assert r["ok"] is False and "is not valid" in r["error"]


def test_flood_is_rate_limited_per_site_and_other_sites_still_served(mosquitto, service_factory,
                                                                    probe_factory, caplog):
    caplog.set_level(logging.WARNING, "assistant.mqtt")
    service_factory(mqtt_config(mosquitto, rate_limit_per_s=2.0, rate_burst=5), echo)
    p = probe_factory(mosquitto, subscribe=["assistant/+/reply"])
    for i in range(60):
        p.publish("assistant/noisy/command", json.dumps({"text": "spam", "id": i}))
    p.publish("assistant/calm/command", json.dumps({"text": "hello", "id": "calm"}))
    r = body(p.expect(lambda m: m.topic == "assistant/calm/reply"))
    assert r["ok"] is True and r["id"] == "calm"
    time.sleep(0.5)
    noisy = [body(m) for m in p.drain(0.5) if m.topic == "assistant/noisy/reply"]
    served = [r for r in noisy if r["ok"]]
    assert 5 <= len(served) <= 8, len(served)
    # nothing dropped without a reply: the rest are told they are over the limit, with their id
    assert len(noisy) == 60 and sorted(r["id"] for r in noisy) == list(range(60))
    assert all("rate_limit_per_s" in r["error"] for r in noisy if not r["ok"])
    assert "site 'noisy': dropped" in caplog.text and "over the rate limit of 2/s (burst 5)" in caplog.text


@pytest.fixture
def fuzz_target(mosquitto, service_factory, probe_factory):
    service_factory(mqtt_config(mosquitto, rate_limit_per_s=1000.0, rate_burst=1000,
                                max_payload_bytes=2048), echo)
    return probe_factory(mosquitto, subscribe=["assistant/fuzz/reply"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["text", "id", "site", "Text", ""]), json_values, max_size=3)
    .map(lambda d: json.dumps(d).encode()),
)


def test_fuzz_random_payloads_then_a_valid_command_is_still_answered(fuzz_target):
    p = fuzz_target
    sent = []

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(payload=payloads)
    def throw(payload: bytes) -> None:
        p.publish("assistant/fuzz/command", payload)
        sent.append(payload)

    throw()
    # every payload, good or bad, got exactly one well-formed reply
    replies = []
    deadline = time.monotonic() + 30
    while len(replies) < len(sent) and time.monotonic() < deadline:
        try:
            replies.append(body(p.expect(lambda m: m.topic == "assistant/fuzz/reply", timeout=1)))
        except AssertionError:
            pass
    assert len(replies) == len(sent)
    for r in replies:
        assert set(r) >= {"id", "ok", "intent", "slots", "speech"}
        assert r["ok"] or r["error"]
    p.publish("assistant/fuzz/command", json.dumps({"text": "are you alive", "id": "after-fuzz"}))
    r = body(p.expect(lambda m: m.topic == "assistant/fuzz/reply" and b"after-fuzz" in m.payload))
    assert r["ok"] is True and r["speech"] == "are you alive"
