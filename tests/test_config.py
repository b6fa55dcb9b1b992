"""Config validation: good files load, mistakes stop the start with one precise line."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import config
from assistant.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _section(text: str, name: str) -> list[str] | None:
    """The lines of one [section] of a TOML file, up to the next header."""
    lines = text.splitlines()
    try:
        start = lines.index(f"[{name}]")
    except ValueError:
        return None
    out = []
    for ln in lines[start + 1:]:
        if ln.startswith("["):
            break
        out.append(ln)
    return out


def test_shipped_config_loads_and_documents_every_key():
    cfg = config.load(ROOT / "config.toml")
    assert cfg.mqtt.host == "127.0.0.1" and cfg.mqtt.port == 1883
    assert cfg.storage.path == "" and cfg.nlu.model_dir == ""  # the documented places
    text = (ROOT / "config.toml").read_text()
    sections = [f.name for f in dataclasses.fields(config.Config) if f.name != "source"]
    assert {"mqtt", "storage", "time", "nlu", "scheduler", "speech", "tts", "log",
            "skills"} <= set(sections)
    for section in sections:
        block = _section(text, section)
        assert block is not None, f"[{section}] missing from config.toml"
        for key in getattr(cfg, section).__dataclass_fields__:
            line = next((ln for ln in block if ln.startswith(f"{key} =")), None)
            assert line is not None, f"[{section}] {key} missing from config.toml's [{section}]"
            assert "#" in line, f"[{section}] {key} has no comment"


def test_design_keys_exist(tmp_path):
    p = write(tmp_path, """
[mqtt]
host = "127.0.0.1"
port = 1883
root = "assistant"
site = "default"
[storage]
path = "state/assistant.db"
[time]
timezone = "Europe/Berlin"
[speech]
enabled = true
[tts]
engine = "espeak-ng"
""")
    cfg = config.load(p)
    assert cfg.zone.key == "Europe/Berlin"
    assert cfg.db_path == tmp_path / "state" / "assistant.db"  # relative to the file


@pytest.mark.parametrize("text, expected", [
    ("[mqtt]\nprot = 1\n", "[mqtt] unknown key 'prot'"),
    ("[mqttt]\nport = 1\n", "unknown section [mqttt]"),
    ("[mqtt]\nport = \"1883\"\n", "[mqtt] port = '1883': expected an integer"),
    ("[mqtt]\nport = 70000\n", "expected a TCP port"),
    ("[speech]\nenabled = \"yes\"\n", "expected true or false"),
    ("[time]\ntimezone = \"Mars/Olympus\"\n", "expected an IANA zone"),
    ("[time]\ndefault_time = \"9am\"\n", "expected a time of day"),
    ("[tts]\nengine = \"sam\"\n", "expected one of espeak-ng"),
    ("[mqtt]\npassword = \"hunter2\"\n", "secrets do not go in the config file"),
    ("[mqtt]\nroot = \"a/b\"\n", "without '/'"),
    ("[mqtt\n", "not valid TOML"),
])
def test_bad_values_name_file_key_and_expectation(tmp_path, text, expected):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(p)
    msg = str(err.value)
    assert str(p) in msg and expected in msg and "\n" not in msg


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="not found; copy config.toml"):
        config.load(tmp_path / "nope.toml")


def test_password_from_env_or_file(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    cfg = config.load(write(tmp_path, f'[mqtt]\npassword_file = "{secret}"\n'))
    monkeypatch.delenv("ASSISTANT_MQTT_PASSWORD", raising=False)
    assert cfg.mqtt_password() == "s3cret"
    monkeypatch.setenv("ASSISTANT_MQTT_PASSWORD", "fromenv")
    assert cfg.mqtt_password() == "fromenv"


def test_env_var_names_the_file(tmp_path, monkeypatch):
    p = write(tmp_path, "[mqtt]\nport = 1999\n")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(p))
    assert config.load().mqtt.port == 1999


def test_cli_refuses_bad_config_with_one_line(tmp_path):
    p = write(tmp_path, "[mqtt]\nport = \"x\"\n")
    res = subprocess.run([sys.executable, "-m", "assistant", "reminders", "list", "--config", str(p)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "[mqtt] port" in res.stderr and "expected an integer" in res.stderr
