"""Home Assistant discovery (checked against HA's MQTT schema rules) and the Hermes flow."""

from __future__ import annotations

import json
import re
from datetime import datetime

import jinja2

from assistant.events import EVENT_TYPES, Event, ParseResult, Reply, Request, empty_slots
from tests.fixtures.broker import mqtt_config

# What HA's MQTT platforms accept (the subset we may use) and require, from the
# sensor.mqtt, event.mqtt and text.mqtt integration pages.
COMMON_KEYS = {"name", "unique_id", "device", "origin", "availability", "availability_mode",
               "qos", "icon", "value_template", "enabled_by_default", "entity_category",
               "json_attributes_topic", "json_attributes_template"}
PLATFORM_KEYS = {
    "sensor": {"state_topic", "device_class", "state_class", "unit_of_measurement",
               "expire_after", "force_update", "suggested_display_precision"},
    "event": {"state_topic", "event_types", "device_class"},
    "text": {"command_topic", "command_template", "state_topic", "max", "min", "mode", "pattern",
             "retain"},
}
REQUIRED = {"sensor": {"state_topic"}, "event": {"state_topic", "event_types"},
            "text": {"command_topic"}}
SENSOR_DEVICE_CLASSES = {"timestamp", "duration", "date", None}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "sw_version",
               "hw_version", "configuration_url", "suggested_area", "via_device", "serial_number"}
ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")


def echo(req: Request) -> Reply:
    return Reply(id=req.id, ok=True, intent="echo", slots=empty_slots(), speech=req.text,
                 site=req.site)


def render(template: str, payload: bytes) -> str:
    """Evaluate a value_template the way HA does (Jinja2 with `value` and `value_json`)."""
    env = jinja2.Environment()
    return env.from_string(template).render(value=payload.decode(), value_json=json.loads(payload))


def collect_discovery(probe, prefix="homeassistant", n=6):
    got = {}
    while len(got) < n:
        m = probe.expect(lambda m: m.topic.startswith(prefix + "/") and m.topic.endswith("/config"))
        got[m.topic] = m
    return got


def test_discovery_configs_are_what_home_assistant_expects(mosquitto, service_factory, probe_factory):
    svc = service_factory(mqtt_config(mosquitto, discovery=True, client_id="assistant-box.1"), echo)
    svc.update_state({"next_reminder": "2026-03-27T18:00:00+01:00", "pending_reminders": 3,
                      "active_timers": 1})
    p = probe_factory(mosquitto, subscribe=["homeassistant/+/+/config", "assistant/state",
                                            "assistant/status"])
    configs = collect_discovery(p)
    state = p.expect(lambda m: m.topic == "assistant/state")
    assert state.retain
    uids = set()
    for topic, m in configs.items():
        assert m.retain, f"{topic}: discovery configs must be retained"
        _prefix, component, object_id, last = topic.split("/")
        assert last == "config" and component in PLATFORM_KEYS
        assert ID_RE.match(object_id), object_id
        cfg = json.loads(m.payload)
        assert cfg["unique_id"] == object_id, "HA best practice: object id = unique id"
        assert cfg["unique_id"] not in uids
        uids.add(cfg["unique_id"])
        assert REQUIRED[component] <= set(cfg), (topic, REQUIRED[component] - set(cfg))
        unknown = set(cfg) - COMMON_KEYS - PLATFORM_KEYS[component]
        assert not unknown, f"{topic}: keys HA does not know: {unknown}"
        dev = cfg["device"]
        assert dev["identifiers"] and dev["name"] and set(dev) <= DEVICE_KEYS
        assert cfg["origin"]["name"]
        assert cfg["availability"] == [{"topic": "assistant/status", "payload_available": "online",
                                        "payload_not_available": "offline"}]
        if component == "sensor":
            assert cfg.get("device_class") in SENSOR_DEVICE_CLASSES
            assert cfg.get("state_class", "measurement") in STATE_CLASSES
        for t in ("state_topic", "command_topic"):
            if t in cfg:
                assert "+" not in cfg[t] and "#" not in cfg[t]
    # one device for all entities
    assert len({json.dumps(json.loads(m.payload)["device"], sort_keys=True) for m in configs.values()}) == 1
    by_name = {json.loads(m.payload)["name"]: json.loads(m.payload) for m in configs.values()}
    nxt = by_name["Next reminder"]
    assert nxt["device_class"] == "timestamp" and nxt["state_topic"] == "assistant/state"
    value = render(nxt["value_template"], state.payload)
    assert datetime.fromisoformat(value).utcoffset() is not None
    assert render(by_name["Pending reminders"]["value_template"], state.payload) == "3"
    assert render(by_name["Active timers"]["value_template"], state.payload) == "1"
    assert by_name["Fired"]["event_types"] == sorted(set(EVENT_TYPES.values()))
    assert by_name["Command"]["command_topic"] == "assistant/default/command"
    # "no next reminder" renders as HA's None (unknown), not as an invalid timestamp
    empty = json.dumps({"next_reminder": None, "pending_reminders": 0, "active_timers": 0}).encode()
    assert render(nxt["value_template"], empty) == "None"
    # the online status they depend on is there and retained
    status = p.expect(lambda m: m.topic == "assistant/status")
    assert status.payload == b"online" and status.retain


def test_discovery_is_sent_again_when_home_assistant_restarts(mosquitto, service_factory,
                                                              probe_factory):
    service_factory(mqtt_config(mosquitto, discovery=True, discovery_prefix="ha"), echo)
    p = probe_factory(mosquitto, subscribe=["ha/+/+/config"])
    collect_discovery(p, "ha")
    p.drain(0.2)
    p.publish("ha/status", "online")
    again = collect_discovery(p, "ha")
    assert len(again) == 6


def test_fired_events_match_the_event_entity(mosquitto, service_factory, probe_factory):
    svc = service_factory(mqtt_config(mosquitto, discovery=True), echo)
    p = probe_factory(mosquitto, subscribe=["homeassistant/event/+/config", "assistant/events"])
    cfg = json.loads(p.expect(lambda m: m.topic.startswith("homeassistant/event/")).payload)
    for kind in EVENT_TYPES.values():
        svc.publish_event(Event(type=kind, id="i1", subject="x", due="2026-01-01T09:00:00+01:00",
                                fired_at="2026-01-01T09:00:01+01:00", late_s=1.0, site="kitchen"))
        m = p.expect(lambda m: m.topic == cfg["state_topic"])
        assert json.loads(m.payload)["event_type"] in cfg["event_types"]


# -- Hermes -----------------------------------------------------------------------------

def keyword_parse(text: str) -> ParseResult:
    """A small real parser for the test: timers by keyword, everything else out of scope."""
    if "timer" in text:
        slots = empty_slots()
        slots["duration_s"] = 600
        slots["label"] = "tea" if "tea" in text else None
        return ParseResult(text, "timer.start", 0.93, slots)
    return ParseResult(text, "out_of_scope", 0.2, empty_slots())


def speak_handler(req: Request) -> Reply:
    p = keyword_parse(req.text)
    speech = "Timer set." if p.intent == "timer.start" else "Sorry, I can't help with that."
    return Reply(id=req.id, ok=True, intent=p.intent, slots=p.slots, speech=speech, site=req.site)


HERMES_TOPICS = ["hermes/intent/#", "hermes/nlu/#", "hermes/dialogueManager/#", "hermes/tts/#",
                 "hermes/error/#"]


def test_hermes_query_is_answered_with_an_intent_and_the_session_ended(mosquitto, service_factory,
                                                                       probe_factory):
    service_factory(mqtt_config(mosquitto, hermes=True), speak_handler, parse=keyword_parse)
    p = probe_factory(mosquitto, subscribe=HERMES_TOPICS)
    p.publish("hermes/nlu/query", json.dumps({"input": "start a tea timer", "siteId": "kitchen",
                                              "id": "q1", "sessionId": "s-1"}), qos=0)
    parsed = json.loads(p.expect(lambda m: m.topic == "hermes/nlu/intentParsed").payload)
    assert parsed["intent"] == {"intentName": "timer.start", "confidenceScore": 0.93}
    intent = json.loads(p.expect(lambda m: m.topic == "hermes/intent/timer.start").payload)
    assert intent["input"] == "start a tea timer" and intent["siteId"] == "kitchen"
    assert intent["id"] == "q1" and intent["sessionId"] == "s-1"
    assert intent["intent"] == {"intentName": "timer.start", "confidenceScore": 0.93}
    slots = {s["slotName"]: s for s in intent["slots"]}
    assert set(slots) == {"duration_s", "label"}
    for s in intent["slots"]:
        assert {"entity", "slotName", "rawValue", "value", "confidence"} <= set(s)
        assert "value" in s["value"] and "kind" in s["value"]
    assert slots["duration_s"]["value"]["kind"] == "Duration"
    assert slots["label"]["range"] == {"start": 8, "end": 11, "rawStart": 8, "rawEnd": 11}
    end = json.loads(p.expect(lambda m: m.topic == "hermes/dialogueManager/endSession").payload)
    assert end["sessionId"] == "s-1" and end["text"] == "Timer set."


def test_hermes_not_recognized_and_tts_without_a_session(mosquitto, service_factory, probe_factory):
    svc = service_factory(mqtt_config(mosquitto, hermes=True), speak_handler, parse=keyword_parse)
    p = probe_factory(mosquitto, subscribe=HERMES_TOPICS)
    p.publish("hermes/nlu/query", json.dumps({"input": "sing a song", "siteId": "den", "id": "q2"}))
    nr = json.loads(p.expect(lambda m: m.topic == "hermes/nlu/intentNotRecognized").payload)
    assert nr["input"] == "sing a song" and nr["siteId"] == "den" and nr["id"] == "q2"
    say = json.loads(p.expect(lambda m: m.topic == "hermes/tts/say").payload)
    assert say["siteId"] == "den" and say["text"] == "Sorry, I can't help with that." and say["id"]
    assert not [m for m in p.drain(0.3) if m.topic.startswith("hermes/intent/")]

    svc.say("bedroom", "Your tea is ready.")
    say = json.loads(p.expect(lambda m: m.topic == "hermes/tts/say").payload)
    assert say["siteId"] == "bedroom" and say["text"] == "Your tea is ready."

    p.publish("hermes/nlu/query", b"{not json")
    err = json.loads(p.expect(lambda m: m.topic == "hermes/error/nlu").payload)
    assert "not a JSON object" in err["error"]
    p.publish("hermes/nlu/query", json.dumps({"input": "set a timer", "siteId": "den"}))
    assert p.expect(lambda m: m.topic == "hermes/intent/timer.start")


def test_hermes_off_by_default(mosquitto, service_factory, probe_factory):
    service_factory(mqtt_config(mosquitto), speak_handler, parse=keyword_parse)
    p = probe_factory(mosquitto, subscribe=HERMES_TOPICS)
    p.publish("hermes/nlu/query", json.dumps({"input": "set a timer", "siteId": "den"}))
    assert [m.topic for m in p.drain(0.5)] == ["hermes/nlu/query"]


def test_hermes_switched_off_later_is_unsubscribed(mosquitto, service_factory, probe_factory):
    from assistant import config as config_mod

    cfg = mqtt_config(mosquitto, hermes=True)
    service_factory(cfg, speak_handler, parse=keyword_parse).stop()
    off = config_mod.replace(cfg, mqtt={"hermes": False})
    svc = service_factory(off, speak_handler, parse=keyword_parse)  # same id: resumed session
    p = probe_factory(mosquitto, subscribe=HERMES_TOPICS)
    p.publish("hermes/nlu/query", json.dumps({"input": "set a timer", "siteId": "den"}))
    assert [m.topic for m in p.drain(0.5)] == ["hermes/nlu/query"]
    assert svc.snapshot()["ignored"] == 0, "the broker still delivers hermes queries to us"
