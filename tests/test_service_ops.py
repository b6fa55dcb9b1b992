"""Operating the service: STATUS= follows the live state, `assistant reload` waits for the
daemon's answer and fails with its reason when the new config is refused (the real daemon
as a subprocess, a real broker, the real notify socket)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.daemon import ROOT, write_config
from tests.test_hermes import wait_online

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, check=False)


def wait_status(d, predicate, timeout: float = 20) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d._drain(0.2)
        for note in reversed(d.notes):
            if note.startswith("STATUS=") and predicate(note):
                return note
    raise AssertionError(f"no matching STATUS= in {[n for n in d.notes if 'STATUS' in n]}")


def test_status_follows_the_live_state_and_reload_answers(tmp_path: Path, mosquitto,
                                                           start_daemon, probe_factory) -> None:
    if not (ROOT / "models" / "l6-int8" / "model.onnx").exists():
        pytest.skip("no exported model in models/: run `assistant export-model`")
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "client_id": "ops-test"})
    d = start_daemon(cfg)
    d.wait_ready()
    wait_status(d, lambda s: s == "STATUS=serving; 0 pending, MQTT connected")
    wait_online(mosquitto, probe_factory)
    p = probe_factory(mosquitto, subscribe=["assistant/default/reply"])
    p.publish("assistant/default/command", "remind me to call mom in 3 hours")
    p.expect(lambda m: m.topic == "assistant/default/reply")
    wait_status(d, lambda s: s.startswith("STATUS=serving; 1 pending, next due ")
                and s.endswith(", MQTT connected"))
    mosquitto.stop()
    wait_status(d, lambda s: s.endswith("MQTT not connected"))

    ok = cli("reload", "--config", str(cfg))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"reloaded: configuration reloaded from {cfg}"
    good = tmp_path / "same-state.toml"
    good.write_text(cfg.read_text())
    cfg.write_text(cfg.read_text() + "\n[bogus]\n")
    # Refused by the command itself (it reads the same file first)...
    refused = cli("reload", "--config", str(cfg))
    assert refused.returncode == 1
    assert refused.stderr.startswith("assistant: reload failed: new config refused, the old "
                                     "one stays: ")
    assert "unknown section [bogus]" in refused.stderr
    # ...and by the daemon, which answers through its state folder.
    refused = cli("reload", "--config", str(good), "--pid", str(d.proc.pid))
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.startswith("assistant: reload failed: new config refused, the old "
                                     f"one stays: {cfg}: unknown section [bogus]")
    wait_status(d, lambda s: s.startswith("STATUS=serving; 1 pending"))
    assert d.proc.poll() is None
    code, _ = d.terminate()
    assert code == 0
    gone = cli("reload", "--config", str(cfg).replace("config.toml", "x.toml"))
    assert gone.returncode == 2  # no such config: a usage error before any signal
    cfg.write_text(cfg.read_text().replace("\n[bogus]\n", "\n"))
    stopped = cli("reload", "--config", str(cfg))
    assert stopped.returncode == 1 and "no running daemon found" in stopped.stderr
