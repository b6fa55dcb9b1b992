"""Microphone, wake word and satellite paths, from generated speech through the real engines.

The microphone test runs the real sounddevice/PortAudio/ALSA stack in a subprocess on a
file-backed ALSA capture device, so nothing in the audio layer is replaced.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest

from assistant.config import Config, replace
from assistant.speech.audio import pcm_to_wav
from assistant.speech.microphone import Listener
from assistant.speech.satellite import END_MARKER, SatelliteAudio, frames, is_end_marker
from assistant.speech.wakeword import SphinxWake, strip_wake_text

SILENCE_1S = bytes(32000)
WAKE_CMD = "hey assistant, set a timer for ten minutes"


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _find(pcm: bytes) -> float | None:
    """Where a fresh pocketsphinx spotter says "hey assistant" ended (s), streaming 100 ms."""
    wake = SphinxWake(["hey assistant"])
    for k in range(0, len(pcm), 3200):
        for det in wake.process(pcm[k:k + 3200]):
            return (k + det.end_byte) / 32000
    return None


def test_wake_word_found_and_its_end_located(speak_pcm):
    end = _find(speak_pcm(WAKE_CMD) + SILENCE_1S)
    assert end is not None
    assert 0.6 < end < 1.8  # after "hey assistant", before "set a timer"


@pytest.mark.parametrize("sentence", ["set a timer for ten minutes",
                                      "remind me to call the dentist at four",
                                      "what time is it"])
def test_no_wake_word_no_detection(speak_pcm, sentence):
    assert _find(speak_pcm(sentence) + SILENCE_1S) is None


def test_wake_word_must_be_in_the_dictionary():
    from assistant.speech.stt import SpeechError

    with pytest.raises(SpeechError, match="not in the English dictionary: zorblax"):
        SphinxWake(["hey zorblax"])


def test_strip_wake_text():
    assert strip_wake_text("Pay assistant, set a timer.", "hey assistant") == "set a timer."
    assert strip_wake_text("set a timer", "hey assistant") == "set a timer"


def _listener(stt, wake_word: str) -> tuple[Listener, list[tuple[str, str]]]:
    got: list[tuple[str, str]] = []
    cfg = replace(Config(), speech={"wake_word": wake_word, "wake_engine": "pocketsphinx"})
    return Listener(cfg, stt, lambda text, site: got.append((text, site)), "kitchen"), got


@pytest.mark.slow
def test_listener_hears_only_commands_after_the_wake_word(whisper_stt, speak_pcm):
    listener, got = _listener(whisper_stt, "hey assistant")
    listener.feed(speak_pcm("set a timer for ten minutes") + SILENCE_1S)
    assert got == []
    listener.feed(speak_pcm(WAKE_CMD) + SILENCE_1S)
    assert len(got) == 1 and got[0][1] == "kitchen"
    assert words(got[0][0]) in ("set a timer for 10 minutes", "set a timer for ten minutes")


@pytest.mark.slow
def test_push_to_talk_skips_the_wake_word(whisper_stt, speak_pcm):
    listener, got = _listener(whisper_stt, "hey assistant")
    listener.push_to_talk()
    listener.feed(speak_pcm("what time is it") + SILENCE_1S)
    listener.feed(speak_pcm("what time is it") + SILENCE_1S)  # push-to-talk was for one utterance
    assert [words(t) for t, _ in got] == ["what time is it"]


@pytest.mark.slow
def test_bare_wake_word_then_the_command(whisper_stt, speak_pcm):
    listener, got = _listener(whisper_stt, "hey assistant")
    listener.feed(speak_pcm("hey assistant") + SILENCE_1S)
    assert got == []
    listener.feed(speak_pcm("what time is it") + SILENCE_1S)
    assert [words(t) for t, _ in got] == ["what time is it"]


MIC_SCRIPT = """
import json, logging, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from assistant.config import Config, replace
from assistant.speech.stt import make_recognizer
from assistant.speech.microphone import Listener
cfg = replace(Config(), speech={{"engine": {engine!r}, "wake_word": {wake!r}, "device": {device!r},
                                "wake_engine": "pocketsphinx"}})
stt = make_recognizer(cfg)
got = []
listener = Listener(cfg, stt, lambda text, site: got.append([text, site]), "hall")
listener.retry_s = 0.5
listener.start()
t0 = time.time()
while time.time() - t0 < {wait} and len(got) < {expect}:
    time.sleep(0.05)
time.sleep(0.3)
alive = listener.running
listener.stop()
print(json.dumps({{"got": got, "error": listener.error, "alive": alive}}))
"""


def _mic_run(alsa_filemic, engine="whisper", wake="", device="", wait=60, expect=2):
    proc = alsa_filemic.run(MIC_SCRIPT.format(engine=engine, wake=wake, device=device,
                                              wait=wait, expect=expect))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow
def test_microphone_through_a_file_backed_alsa_device(alsa_filemic, speak_pcm):
    alsa_filemic.write_input(SILENCE_1S + speak_pcm("remind me to pick up the dry cleaning at five")
                             + SILENCE_1S * 2 + speak_pcm(WAKE_CMD) + SILENCE_1S * 2)
    out, log = _mic_run(alsa_filemic, wake="")
    assert out["error"] is None, log
    texts = [words(t) for t, site in out["got"] if site == "hall"]
    assert texts[0] in ("remind me to pick up the dry cleaning at 5",
                        "remind me to pick up the dry cleaning at five")
    assert "set a timer for 10 minutes" in texts[1]
    assert "listening on 'default'" in log


@pytest.mark.slow
def test_microphone_with_wake_word_and_pocketsphinx(alsa_filemic, speak_pcm):
    alsa_filemic.write_input(SILENCE_1S + speak_pcm("what time is it") + SILENCE_1S * 2
                             + speak_pcm(WAKE_CMD) + SILENCE_1S * 2)
    out, _log = _mic_run(alsa_filemic, engine="pocketsphinx", wake="hey assistant", wait=20, expect=1)
    assert len(out["got"]) == 1, out
    assert "ten minutes" in out["got"][0][0]


def test_no_audio_device_is_one_clear_line_and_no_crash(alsa_filemic):
    out, log = _mic_run(alsa_filemic, engine="pocketsphinx", device="no-such-microphone",
                        wait=2, expect=1)
    assert out["got"] == [] and out["alive"] is True
    assert "no audio input device matching 'no-such-microphone'" in out["error"]
    lines = [ln for ln in log.splitlines() if "microphone unavailable" in ln]
    assert len(lines) == 1, log  # logged once, retried quietly


def test_missing_alsa_config_is_a_clear_error(tmp_path, caplog, pocketsphinx_stt, monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(tmp_path / "missing.conf"))
    listener, _got = _listener(pocketsphinx_stt, "")
    listener.retry_s = 0.2
    with caplog.at_level(logging.ERROR, logger="assistant.speech"):
        listener.start()
        time.sleep(0.5)
        listener.stop()
    assert "missing.conf does not exist" in (listener.error or "")


# -- satellites ----------------------------------------------------------------------------
def _satellite(stt):
    got: list[tuple[str, str]] = []
    done = threading.Event()

    def on_text(text: str, site: str) -> None:
        got.append((text, site))
        done.set()

    return SatelliteAudio(stt, on_text), got, done


def test_end_marker_forms():
    assert is_end_marker(b"") and is_end_marker(END_MARKER) and is_end_marker(b'{"end":true}')
    assert not is_end_marker(b'{"end": false}') and not is_end_marker(b"RIFF....")


@pytest.mark.slow
def test_satellite_wav_chunks_and_end_marker(whisper_stt, speak_pcm):
    sat, got, _done = _satellite(whisper_stt)
    for msg in frames(speak_pcm("what time is it")):
        sat.feed("bedroom", msg)
    sat.wait_idle()
    assert [(words(t), s) for t, s in got] == [("what time is it", "bedroom")]
    sat.close()


@pytest.mark.slow
def test_satellite_without_marker_ends_on_silence_and_keeps_sites_apart(pocketsphinx_stt, speak_pcm):
    sat, got, _ = _satellite(pocketsphinx_stt)
    a = frames(speak_pcm("what time is it") + SILENCE_1S * 2)[:-1]  # no end marker
    b = frames(speak_pcm("set a timer for ten minutes"))
    for i in range(max(len(a), len(b))):  # two rooms streaming at once, interleaved
        if i < len(a):
            sat.feed("attic", a[i])
        if i < len(b):
            sat.feed("garage", b[i])
    sat.wait_idle()
    assert sorted(got) == [("set a timer for ten minutes", "garage"), ("what time is it", "attic")]
    sat.close()


def test_satellite_bad_frames_are_dropped_with_one_warning(pocketsphinx_stt, caplog):
    sat, got, _ = _satellite(pocketsphinx_stt)
    with caplog.at_level(logging.WARNING, logger="assistant.speech"):
        for payload in (b"\x00\x01garbage", b"RIFF junk", pcm_to_wav(b""), b'{"x": 1}'):
            sat.feed("porch", payload)
        sat.feed("porch", END_MARKER)
        sat.feed("nowhere", END_MARKER)  # end without audio: nothing
        sat.wait_idle()
    assert got == []
    warnings = [r for r in caplog.records if "porch" in r.getMessage()]
    assert len(warnings) == 1 and "expected WAV chunks" in warnings[0].getMessage()
    sat.close()
