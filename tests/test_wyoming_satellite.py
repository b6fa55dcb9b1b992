"""A real wyoming-satellite process driven by the daemon, as Home Assistant would drive it.

The satellite streams its (file) microphone continuously; the daemon spots "hey assistant",
transcribes the command, runs it through the pipeline on the satellite's site, and sends the
spoken reply back, which the satellite's (file) speaker writes out. Ten seconds later the timer
fires and is announced on the same satellite, and the timer events reach the satellite (which
forwards them to its event service). A second configured satellite that is down shows as
unavailable in `assistant status` and is connected once it comes up.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.speech.audio import load_wav
from tests.fixtures.audio import synthesize
from tests.fixtures.daemon import ROOT, free_port
from tests.fixtures.wyoming import EventCollector, SatelliteProcess, start_daemon, stop_daemon

pytestmark = pytest.mark.slow


def status(config: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "assistant", "status", "--json", "--config",
                          str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    return json.loads(out.stdout)


def wait_status(config: Path, pred, timeout: float = 60) -> dict:
    t0 = time.monotonic()
    st: dict = {}
    while time.monotonic() - t0 < timeout:
        st = status(config)
        if st.get("running") and pred(st.get("wyoming") or {}):
            return st
        time.sleep(1)
    raise AssertionError(f"status never matched: {st.get('wyoming')}")


def by_site(wy: dict, site: str) -> dict:
    return next(s for s in wy.get("satellites", []) if s["site"] == site)


def test_satellite_timer_reply_and_announcement(tmp_path: Path, whisper_stt) -> None:
    collector = EventCollector().start()
    sat_port, attic_port = free_port(), free_port()
    sat = SatelliteProcess(tmp_path / "kitchen", sat_port, collector.port)
    attic = None
    daemon, _ = start_daemon(
        tmp_path / "daemon",
        wyoming={"satellites": [f"tcp://127.0.0.1:{sat_port}#kitchen",
                                f"tcp://127.0.0.1:{attic_port}#attic"],
                 "retry_min_s": 0.5, "retry_max_s": 2.0})
    try:
        st = wait_status(daemon.config, lambda w: by_site(w, "kitchen")["available"])
        attic_st = by_site(st["wyoming"], "attic")
        assert attic_st["available"] is False and "cannot connect" in attic_st["last_error"]
        text = subprocess.run([sys.executable, "-m", "assistant", "status", "--config",
                               str(daemon.config)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, check=True).stdout
        assert re.search(r"satellite attic .*unavailable", text), text
        assert re.search(r"satellite kitchen .*: available", text), text

        speech = load_wav(synthesize("hey assistant, set a timer for ten seconds", "slt",
                                     tmp_path / "cmd.wav"))
        sat.say(speech)
        reply = sat.wait_reply(0)
        said = collector.wait_for(lambda e: e.type == "synthesize", 10).data["text"]
        assert said == "A timer for 10 seconds, starting now.", said
        heard = whisper_stt.transcribe(reply.read_bytes()).lower()  # espeak-ng, heard by Whisper
        assert re.search(r"(10|ten) seconds", heard), heard
        started = collector.wait_for(lambda e: e.type == "timer-started", 30)
        assert started.data["total_seconds"] in range(5, 11), started.data
        transcript = collector.wait_for(lambda e: e.type == "transcript", 5)
        assert "timer" in transcript.data["text"].lower()

        from assistant.store.db import Store

        store = Store(tmp_path / "daemon" / "state" / "assistant.db", readonly=True)
        try:
            timers = [it for it in store.pending("timer")]
            assert [(t.site, t.duration_s) for t in timers] == [("kitchen", 10)]
        finally:
            store.close()

        finished = collector.wait_for(lambda e: e.type == "timer-finished", 40)
        assert finished.data["id"] == started.data["id"]
        announcement = sat.wait_reply(1, 30)
        texts = [e.data["text"] for _, e in collector.events if e.type == "synthesize"]
        assert texts[-1] == "Your timer is done.", texts
        heard = whisper_stt.transcribe(announcement.read_bytes()).lower()
        assert "done" in heard, heard

        # The satellite that was down comes up: it is retried and connected.
        attic = SatelliteProcess(tmp_path / "attic", attic_port, name="attic")
        wait_status(daemon.config, lambda w: by_site(w, "attic")["available"], 30)
    finally:
        stop_daemon(daemon)
        sat.stop()
        if attic is not None:
            attic.stop()
        collector.stop()
    log = daemon.log()
    assert "satellite kitchen: heard" in log


def test_satellite_with_its_own_wake_word_and_a_reminder(tmp_path: Path) -> None:
    from tests.fixtures.wyoming import LibrarySatellite

    sat = LibrarySatellite().start()
    daemon, _ = start_daemon(tmp_path / "daemon",
                             wyoming={"satellites": [f"tcp://127.0.0.1:{sat.port}#porch"]})
    ev = sat.collector
    try:
        ev.wait_for(lambda e: e.type == "run-satellite", 30)
        speech = load_wav(synthesize("remind me in ten seconds to stretch", "slt",
                                     tmp_path / "cmd.wav"))
        sat.command(speech)
        transcript = ev.wait_for(lambda e: e.type == "transcript", 60)
        assert "stretch" in transcript.data["text"].lower(), transcript
        reply = ev.wait_for(lambda e: e.type == "synthesize", 30).data["text"]
        assert "stretch" in reply.lower(), reply
        ev.wait_for(lambda e: e.type == "audio-stop", 30)
        assert "voice-started" in ev.types() and "voice-stopped" in ev.types()
        announced = ev.wait_for(lambda e: e.type == "synthesize"
                                and e.data["text"].startswith("Reminder"), 40)
        assert announced.data["text"] == "Reminder: stretch."
        assert ev.types().count("audio-stop") >= 1
        # Nobody speaks after the wake word: an empty transcript re-arms the satellite.
        n = ev.types().count("transcript")
        sat.command(b"", silence_s=9.5)
        empty = ev.wait_for(lambda e: e.type == "transcript" and e.data["text"] == "", 20)
        assert empty and ev.types().count("transcript") == n + 1
    finally:
        stop_daemon(daemon)
        sat.stop()
    assert "satellite porch: no speech after 8 s" in daemon.log()
