"""MQTT identity: a unique, stable default client id per instance, and Home Assistant
discovery configs removed when discovery is turned off or the identity changes (a real
broker, real SQLite ledger)."""

from __future__ import annotations

import time
from pathlib import Path

from assistant import config as config_mod
from assistant.mqtt import discovery
from assistant.mqtt.identity import SUFFIX_FILE, DiscoveryLedger
from tests.fixtures.broker import mqtt_config
from tests.test_mqtt_ha import echo


def with_state(cfg, folder: Path, **mqtt):  # type: ignore[no-untyped-def]
    return config_mod.replace(cfg, storage={"path": str(folder / "assistant.db")},
                              mqtt=mqtt)


def test_two_instances_on_one_host_keep_their_connections(mosquitto, service_factory,
                                                          tmp_path: Path) -> None:
    base = mqtt_config(mosquitto, client_id="")
    a_cfg = with_state(base, tmp_path / "a")
    b_cfg = with_state(base, tmp_path / "b")
    a, b = service_factory(a_cfg, echo), service_factory(b_cfg, echo)
    assert discovery.client_id(a_cfg) != discovery.client_id(b_cfg)
    assert discovery.client_id(a_cfg).startswith(f"assistant-{discovery.socket.gethostname().split('.')[0]}-assistant-")
    time.sleep(3)
    assert a.connected and b.connected
    assert a.conn.reconnects == 0 and b.conn.reconnects == 0
    # Stable: the suffix is kept in the state folder and read back by a later start.
    kept = (tmp_path / "a" / SUFFIX_FILE).read_text().strip()
    assert discovery.client_id(a_cfg).endswith("-" + kept)


def retained_configs(probe_factory, mosquitto) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    p = probe_factory(mosquitto, subscribe=["homeassistant/+/+/config"])
    return {m.topic: m.payload for m in p.drain(0.7) if m.retain}


def test_discovery_configs_are_removed_when_off_or_renamed(mosquitto, service_factory,
                                                          probe_factory, tmp_path: Path) -> None:
    ledger = DiscoveryLedger(tmp_path / "assistant.db")
    cfg = mqtt_config(mosquitto, discovery=True, client_id="box-one")

    def serve(c):  # type: ignore[no-untyped-def]
        from assistant.mqtt.service import MqttService

        svc = MqttService(c, echo, ledger=ledger)
        svc.start()
        assert svc.wait_connected(10)
        time.sleep(0.5)
        svc.stop()

    serve(cfg)
    first = retained_configs(probe_factory, mosquitto)
    assert len(first) == 6 and all("box-one" in t for t in first)
    assert ledger.topics() == set(first)
    # Renamed (another client id): the new device replaces the old one.
    serve(config_mod.replace(cfg, mqtt={"client_id": "box-two"}))
    second = retained_configs(probe_factory, mosquitto)
    assert len(second) == 6 and all("box-two" in t for t in second)
    assert ledger.topics() == set(second)
    # Discovery off: nothing of ours stays retained.
    serve(config_mod.replace(cfg, mqtt={"client_id": "box-two", "discovery": False}))
    assert retained_configs(probe_factory, mosquitto) == {}
    assert ledger.topics() == set()
