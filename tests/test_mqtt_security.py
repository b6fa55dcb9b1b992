"""TLS (a CA made in the test) and username/password against a real mosquitto."""

from __future__ import annotations

import json
import logging
import time

from assistant.events import Reply, Request, empty_slots
from tests.fixtures.broker import mqtt_config


def echo(req: Request) -> Reply:
    return Reply(id=req.id, ok=True, intent="echo", slots=empty_slots(), speech=req.text,
                 site=req.site)


def test_tls_round_trip_with_a_self_signed_ca(tls_broker, tls_files, service_factory, probe_factory):
    svc = service_factory(mqtt_config(tls_broker), echo)
    assert svc.connected
    p = probe_factory(tls_broker, subscribe=["assistant/+/reply"], tls_ca=str(tls_files.ca))
    p.publish("assistant/default/command", json.dumps({"text": "over tls", "id": "t"}))
    r = json.loads(p.expect(lambda m: m.topic == "assistant/default/reply").payload)
    assert r["speech"] == "over tls" and r["id"] == "t"


def test_tls_with_a_client_certificate(broker_factory, tls_files, service_factory):
    b = broker_factory(tls=tls_files, require_certificate=True)
    cfg = mqtt_config(b, cert_file=str(tls_files.client_cert), key_file=str(tls_files.client_key))
    assert service_factory(cfg, echo).connected


def test_untrusted_broker_certificate_is_one_clear_line(tls_broker, tls_files, service_factory,
                                                        caplog):
    cfg = mqtt_config(tls_broker, ca_file=str(tls_files.other_ca))
    svc = service_factory(cfg, echo, wait=False)
    time.sleep(1.5)
    assert not svc.connected
    lines = [r.getMessage() for r in caplog.records
             if "TLS certificate not trusted" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"MQTT broker 127.0.0.1:{tls_broker.port}: TLS certificate not trusted")
    assert "check [mqtt] ca_file" in lines[0]


def test_missing_ca_file_is_reported_and_start_does_not_raise(mosquitto, service_factory, caplog,
                                                              tmp_path):
    cfg = mqtt_config(mosquitto, tls=True, ca_file=str(tmp_path / "nope.crt"))
    svc = service_factory(cfg, echo, wait=False)
    assert not svc.connected
    assert "MQTT TLS setup failed" in caplog.text and "nope.crt" in caplog.text


def test_login_with_password_from_the_environment(auth_broker, service_factory, probe_factory,
                                                  monkeypatch):
    monkeypatch.setenv("ASSISTANT_MQTT_PASSWORD", "s3cret")
    svc = service_factory(mqtt_config(auth_broker, username="assistant"), echo)
    assert svc.connected


def test_login_with_password_from_a_file(auth_broker, service_factory, tmp_path, monkeypatch):
    monkeypatch.delenv("ASSISTANT_MQTT_PASSWORD", raising=False)
    (tmp_path / "pw").write_text("s3cret\n")
    cfg = mqtt_config(auth_broker, username="assistant", password_file=str(tmp_path / "pw"))
    assert service_factory(cfg, echo).connected


def test_refused_login_is_one_clear_line_and_retries_quietly(auth_broker, service_factory, caplog,
                                                             monkeypatch):
    caplog.set_level(logging.DEBUG, "assistant.mqtt")
    monkeypatch.setenv("ASSISTANT_MQTT_PASSWORD", "wrong")
    for protocol in ("5", "3.1.1"):
        caplog.clear()
        svc = service_factory(mqtt_config(auth_broker, username="assistant", protocol=protocol,
                                          reconnect_min_s=0.1, reconnect_max_s=0.3), echo, wait=False)
        time.sleep(1.5)
        assert not svc.connected
        want = (f"MQTT broker 127.0.0.1:{auth_broker.port} refused the login: bad username or "
                "password; check [mqtt] username and $ASSISTANT_MQTT_PASSWORD")
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == [want], (protocol, errors)
        retries = [r for r in caplog.records if "refused the login" in r.getMessage()]
        assert len(retries) >= 2, "it keeps retrying (at DEBUG) with back-off"
        svc.stop()
