"""The daemon as a real subprocess: start, READY=1, SIGHUP reload, SIGTERM exit 0 within 5 s."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.daemon import ROOT, write_config

pytestmark = pytest.mark.slow


def test_start_ready_stop_without_a_broker(tmp_path, start_daemon):
    cfg = write_config(tmp_path)  # MQTT on a port where nothing listens
    d = start_daemon(cfg)
    ready_s = d.wait_ready()
    assert ready_s < 60
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["pid"] == d.proc.pid and status["mqtt_connected"] is False
    # the CLI sees it running
    out = subprocess.run([sys.executable, "-m", "assistant", "status", "--json", "--config",
                          str(cfg)], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(out.stdout)["running"] is True
    code, took = d.terminate()
    assert code == 0 and took < 5, d.log()
    assert "STOPPING=1" in (d._drain(0.5) or d.notes)
    assert "Traceback" not in d.log()
    assert not (tmp_path / "state" / "status.json").exists()


def test_sighup_reloads_and_bad_reload_keeps_running(tmp_path, start_daemon):
    cfg = write_config(tmp_path)
    d = start_daemon(cfg)
    d.wait_ready()
    cfg.write_text(cfg.read_text().replace('level = "DEBUG"', 'level = "INFO"'))
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    cfg.write_text(cfg.read_text() + "\n[bogus]\n")
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    assert d.proc.poll() is None
    log = d.log()
    assert "configuration reloaded" in log
    assert "reload refused" in log and "unknown section [bogus]" in log
    code, _ = d.terminate()
    assert code == 0


def test_bad_config_stops_start_with_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[mqtt]\nport = 'x'\n")
    res = subprocess.run([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                         capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert res.returncode == 2
    assert res.stderr.strip() == f"assistant: {cfg}: [mqtt] port = 'x': expected an integer"


def test_missing_model_is_refused_with_the_fix(tmp_path):
    cfg = write_config(tmp_path, nlu={"model_dir": str(tmp_path / "nomodels")})
    res = subprocess.run([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 1
    assert "export-model" in res.stderr
    assert "Traceback" not in res.stderr
