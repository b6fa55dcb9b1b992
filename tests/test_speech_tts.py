"""Spoken replies: real espeak-ng/flite output, read back through speech-to-text."""

from __future__ import annotations

import logging
import re
import time

import pytest

from assistant.config import Config, replace
from assistant.speech.audio import load_wav
from assistant.speech.tts import HermesSpeaker, ProcessSpeaker, Speaker, TtsError, make_speaker


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@pytest.mark.slow
@pytest.mark.parametrize("engine, voice", [("flite", "slt"), ("espeak-ng", "en-us")])
def test_spoken_reply_is_real_speech(tmp_path, whisper_stt, engine, voice):
    speaker = ProcessSpeaker(engine, voice, wav_dir=str(tmp_path))
    speaker.say("Timer set for ten minutes.", "kitchen")
    speaker.wait_idle()
    files = list(tmp_path.glob("*-kitchen.wav"))
    assert len(files) == 1
    heard = words(whisper_stt.transcribe(load_wav(files[0])))
    assert re.search(r"\b(10|ten) minutes", heard), heard  # espeak-ng is robotic: "Time for 10 minutes"
    speaker.close()


def test_say_returns_at_once(tmp_path):
    speaker = ProcessSpeaker("espeak-ng", wav_dir=str(tmp_path))
    t0 = time.perf_counter()
    for i in range(3):
        speaker.say(f"reminder number {i}", "hall")
    assert time.perf_counter() - t0 < 0.1  # queued, synthesized on the worker
    speaker.wait_idle()
    assert len(list(tmp_path.glob("*.wav"))) == 3
    speaker.close()


def test_playback_without_a_sound_card_is_logged_not_raised(caplog, tmp_path, monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf")
    speaker = ProcessSpeaker("espeak-ng", output_device="no-such-card")
    with caplog.at_level(logging.ERROR, logger="assistant.speech"):
        speaker.say("hello", "hall")
        speaker.say("hello again", "hall")
        speaker.wait_idle()
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 1 and "aplay exited" in errors[0]  # the same error once, not per reply
    speaker.close()


def test_hermes_and_none():
    said: list[tuple[str, str]] = []
    speaker = make_speaker(replace(Config(), tts={"engine": "hermes"}),
                           hermes_say=lambda site, text: said.append((site, text)))
    assert isinstance(speaker, HermesSpeaker)
    speaker.say("Your timer is done.", "office")
    assert said == [("office", "Your timer is done.")]
    quiet = make_speaker(replace(Config(), tts={"engine": "none"}))
    assert type(quiet) is Speaker
    quiet.say("nothing", "office")


def test_hermes_failure_is_logged(caplog):
    def broken(site: str, text: str) -> None:
        raise ConnectionError("broker gone")

    with caplog.at_level(logging.ERROR, logger="assistant.speech"):
        HermesSpeaker(broken).say("hi", "office")
    assert "broker gone" in caplog.text


def test_configuration_errors_say_what_to_do():
    with pytest.raises(TtsError, match="needs MQTT"):
        make_speaker(replace(Config(), tts={"engine": "hermes"}))
    with pytest.raises(TtsError, match="not found"):
        make_speaker(replace(Config(), tts={"engine": "command", "command": ["/no/such/tts"]}))
    with pytest.raises(TtsError, match="needs \\[tts\\] command"):
        make_speaker(replace(Config(), tts={"engine": "command"}))


def test_command_engine_gets_the_text_on_stdin(tmp_path):
    out = tmp_path / "said.txt"
    speaker = make_speaker(replace(Config(), tts={"engine": "command",
                                                  "command": ["sh", "-c", f"cat >> {out}"]}))
    speaker.say("Good  morning", "hall")
    speaker.wait_idle()
    assert out.read_text() == "Good morning"
    speaker.close()
