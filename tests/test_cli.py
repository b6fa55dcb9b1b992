"""The `assistant` command as users and tools call it (real subprocesses, real model, real store)."""

import json
import subprocess
import sys

import pytest

from tests.fixtures.daemon import ROOT, write_config

COMMANDS = ["run", "parse", "say", "chat", "export-model", "import-model", "reload", "transcribe",
            "reminders", "status", "doctor"]


def cli(*args, input=None, check=False):
    res = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                         cwd=ROOT, input=input, timeout=180)
    if check:
        assert res.returncode == 0, res.stderr.decode()
    return res


def test_help_lists_every_command_and_each_has_help():
    out = cli("--help", check=True).stdout.decode()
    for name in COMMANDS:
        assert name in out
        sub = cli(name, "--help", check=True).stdout.decode()
        assert f"assistant {name}" in sub


def test_parse_contract(tmp_path):
    cfg = write_config(tmp_path)
    res = cli("parse", "remind me to water the plants at 6 pm", "--now", "2026-03-27T09:00",
              "--tz", "Europe/Berlin", "--config", str(cfg), check=True)
    lines = res.stdout.decode().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) >= {"text", "intent", "confidence", "slots"}
    assert obj["intent"] == "reminder.create"
    assert 0 <= obj["confidence"] <= 1
    assert set(obj["slots"]) == {"subject", "when", "duration_s", "recurrence", "label"}
    assert obj["slots"]["when"] == "2026-03-27T18:00:00+01:00"
    assert obj["slots"]["subject"] == "water the plants"


def test_parse_jsonl_goes_on_after_bad_lines(tmp_path):
    cfg = write_config(tmp_path)
    lines = [
        b"set a timer for ten minutes",
        b"\xff\xfe not utf8",
        b'{"text": "what time is it", "now": "2026-07-01T10:00", "tz": "America/New_York"}',
        b'{"text": 5}',
        b'{"nope',
        b'{"text": "wake me up at 7", "now": "not a time"}',
        b"",
    ]
    res = cli("parse", "--jsonl", "--now", "2026-03-27T09:00", "--config", str(cfg),
              input=b"\n".join(lines) + b"\n", check=True)
    out = [json.loads(x) for x in res.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    assert out[0]["intent"] == "timer.start" and out[0]["slots"]["duration_s"] == 600
    assert out[0]["slots"]["when"] == "2026-03-27T09:10:00+01:00"
    assert "UTF-8" in out[1]["error"]
    assert out[2]["intent"] == "time.query"
    assert "text" in out[3]["error"] and "JSON" in out[4]["error"] and "now" in out[5]["error"]
    assert out[6].get("intent") == "out_of_scope" or "error" in out[6]


def test_say_then_list_then_cancel(tmp_path):
    cfg = write_config(tmp_path)
    res = cli("say", "remind me to call my mom tomorrow at 5 pm", "--json", "--config", str(cfg),
              check=True)
    reply = json.loads(res.stdout)
    assert reply["ok"] is True and reply["intent"] == "reminder.create"
    assert "call your mom" in reply["speech"] and "5 PM" in reply["speech"]
    listed = json.loads(cli("reminders", "list", "--json", "--config", str(cfg), check=True).stdout)
    assert len(listed) == 1
    item = listed[0]
    assert {"id", "kind", "subject", "due", "recurrence", "site"} <= set(item)
    assert item["kind"] == "reminder" and item["subject"] == "call my mom"
    res = cli("reminders", "cancel", item["id"], "--json", "--config", str(cfg), check=True)
    assert json.loads(res.stdout) == {"cancelled": 1, "unknown": []}
    assert json.loads(cli("reminders", "list", "--json", "--config", str(cfg)).stdout) == []
    res = cli("reminders", "cancel", "nosuchid", "--config", str(cfg))
    assert res.returncode == 1 and b"nosuchid" in res.stdout


def test_reminders_list_without_a_database(tmp_path):
    cfg = write_config(tmp_path)
    assert json.loads(cli("reminders", "list", "--json", "--config", str(cfg), check=True).stdout) == []


def test_chat_console_keeps_dialogue_state(tmp_path):
    cfg = write_config(tmp_path)
    script = b"remind me to feed the cat\nin ten minutes\nwhat are my reminders\nquit\n"
    res = cli("chat", "--config", str(cfg), input=script, check=True)
    out = res.stdout.decode().splitlines()
    assert out[0] == "When should I remind you?"
    assert out[1].startswith("OK, I'll remind you to feed the cat in 10 minutes")
    assert "feed the cat" in out[2]


def test_status_and_doctor_without_daemon(tmp_path):
    cfg = write_config(tmp_path)
    st = json.loads(cli("status", "--json", "--config", str(cfg), check=True).stdout)
    assert st["running"] is False and st["pending"] == 0
    res = cli("doctor", "--config", str(cfg))
    out = res.stdout.decode()
    assert "ok   model" in out and "ok   state folder" in out
    assert "mqtt broker" in out and "unreachable" in out and "fix:" in out


def test_doctor_reports_unwritable_state_and_missing_model(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = write_config(tmp_path, storage={"path": str(blocker / "db.sqlite")},
                       nlu={"model_dir": str(tmp_path / "none")})
    res = cli("doctor", "--config", str(cfg))
    out = res.stdout.decode()
    assert res.returncode == 1
    assert "FAIL model" in out and "export-model" in out
    assert "FAIL state folder" in out


@pytest.mark.parametrize("argv", [["parse", "--tz", "Nowhere/City", "hi"],
                                  ["parse", "--now", "yesterday", "hi"]])
def test_bad_cli_input_is_one_line(tmp_path, argv):
    cfg = write_config(tmp_path)
    res = cli(*argv, "--config", str(cfg))
    assert res.returncode == 2
    assert res.stderr.decode().count("\n") == 1
