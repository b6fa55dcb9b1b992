"""Home Assistant MQTT discovery: the daemon shows up as one device, no YAML needed.

Topics follow `<prefix>/<component>/<unique_id>/config` (HA's advice: object id = unique
id, no node id). Configs and states are retained so HA sees them after its own restart;
when HA announces `online` on `<prefix>/status` the service sends them again anyway.
Entities: "next reminder" (timestamp), "pending reminders", "active timers", an event
entity for fired items, a text entity to send a command, and a sensor with the last reply.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from assistant import __version__
from assistant.config import Config
from assistant.events import EVENT_TYPES, Event

_ID_BAD = re.compile(r"[^a-zA-Z0-9_-]")


def client_id(cfg: Config) -> str:
    """The stable MQTT client id: configured, else assistant-<hostname>-<root>-<suffix>,
    the suffix made once per state folder (assistant/mqtt/identity.py)."""
    if cfg.mqtt.client_id:
        return cfg.mqtt.client_id
    from assistant.mqtt.identity import instance_suffix

    host = socket.gethostname().split(".")[0] or "host"
    return f"assistant-{host}-{cfg.mqtt.root}-{instance_suffix(cfg.db_path.parent)}"


def node_id(cfg: Config) -> str:
    """The device id HA sees: the client id reduced to the characters HA allows."""
    return _ID_BAD.sub("_", client_id(cfg))


def state_topic(cfg: Config) -> str:
    return f"{cfg.mqtt.root}/state"


def events_topic(cfg: Config) -> str:
    """All sites' fired items in one stream, with HA's `event_type` key (the event entity)."""
    return f"{cfg.mqtt.root}/events"


def status_topic(cfg: Config) -> str:
    """online/offline (retained, last will). Several daemons in a shared group each have
    their own, so one that dies does not mark the others offline."""
    if cfg.mqtt.shared_group:
        return f"{cfg.mqtt.root}/instance/{client_id(cfg)}/status"
    return f"{cfg.mqtt.root}/status"


def birth_topic(cfg: Config) -> str:
    return f"{cfg.mqtt.discovery_prefix}/status"


def _device(cfg: Config) -> dict[str, Any]:
    node = node_id(cfg)
    return {
        "identifiers": [node],
        "name": f"Assistant {cfg.mqtt.root}" if cfg.mqtt.root != "assistant" else "Assistant",
        "manufacturer": "offline assistant",
        "model": "voice and text assistant daemon",
        "sw_version": __version__,
    }


def configs(cfg: Config) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) for every entity's discovery config."""
    root, site, prefix = cfg.mqtt.root, cfg.mqtt.site, cfg.mqtt.discovery_prefix
    node = node_id(cfg)
    common = {
        "device": _device(cfg),
        "origin": {"name": "assistant", "sw_version": __version__},
        "availability": [{"topic": status_topic(cfg), "payload_available": "online",
                          "payload_not_available": "offline"}],
        "qos": 1,
    }
    st = state_topic(cfg)
    entities: list[tuple[str, str, dict[str, Any]]] = [
        ("sensor", "next_reminder", {
            "name": "Next reminder", "device_class": "timestamp", "state_topic": st,
            "value_template": "{{ value_json.next_reminder or 'None' }}",
            "icon": "mdi:bell-ring-outline"}),
        ("sensor", "pending_reminders", {
            "name": "Pending reminders", "state_topic": st, "state_class": "measurement",
            "value_template": "{{ value_json.pending_reminders | int(0) }}",
            "icon": "mdi:bell-outline"}),
        ("sensor", "active_timers", {
            "name": "Active timers", "state_topic": st, "state_class": "measurement",
            "value_template": "{{ value_json.active_timers | int(0) }}",
            "icon": "mdi:timer-outline"}),
        ("event", "fired", {
            "name": "Fired", "state_topic": events_topic(cfg),
            "event_types": sorted(set(EVENT_TYPES.values())), "icon": "mdi:bell-alert"}),
        ("text", "command", {
            "name": "Command", "command_topic": f"{root}/{site}/command", "max": 255,
            "icon": "mdi:message-text-outline"}),
        ("sensor", "last_reply", {
            "name": "Last reply", "state_topic": f"{root}/{site}/reply",
            "value_template": "{{ (value_json.speech or value_json.error or '')[:255] }}",
            "icon": "mdi:message-reply-text-outline"}),
    ]
    out = []
    for component, key, extra in entities:
        uid = f"{node}_{key}"
        payload = {**extra, "unique_id": uid, **common}
        out.append((f"{prefix}/{component}/{uid}/config", payload))
    return out


def state_payload(state: dict[str, Any]) -> dict[str, Any]:
    """The retained entity state, with the three keys HA's templates read."""
    nxt = state.get("next_reminder")
    if hasattr(nxt, "isoformat"):
        nxt = nxt.isoformat()
    return {"next_reminder": str(nxt) if nxt else None,
            "pending_reminders": int(state.get("pending_reminders") or 0),
            "active_timers": int(state.get("active_timers") or 0)}


def event_payload(event: Event) -> dict[str, Any]:
    """What the HA event entity reads: `event_type` plus the rest as attributes."""
    return {"event_type": event.type, **event.to_json(), "site": event.site}
