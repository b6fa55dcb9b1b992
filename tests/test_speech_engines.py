"""The real speech engines on generated speech: whisper and pocketsphinx (English), vosk (Korean)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from assistant.config import Config, replace
from assistant.speech.audio import load_wav
from assistant.speech.stt import SpeechError, make_recognizer

pytestmark = pytest.mark.slow


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def test_whisper_transcribes_a_free_form_reminder_subject(whisper_stt, speak):
    text = whisper_stt.transcribe(load_wav(speak("remind me to pick up the dry cleaning at five")))
    assert words(text) in ("remind me to pick up the dry cleaning at 5",
                           "remind me to pick up the dry cleaning at five"), text


@pytest.mark.parametrize("voice", ["slt", "rms"])
def test_whisper_on_both_flite_voices(whisper_stt, speak, voice):
    text = whisper_stt.transcribe(load_wav(speak("set a timer for ten minutes", voice)))
    assert words(text) in ("set a timer for 10 minutes", "set a timer for ten minutes"), text


def test_whisper_reads_a_44k_stereo_file(whisper_stt, speak):
    text = whisper_stt.transcribe(load_wav(speak("what time is it", rate=44100, channels=2)))
    assert words(text) == "what time is it", text


def test_pocketsphinx_general_model(pocketsphinx_stt, speak):
    # No warm-up: whole-utterance decoding with batch CMN is right on a fresh decoder.
    for sentence in ("set a timer for ten minutes", "what time is it"):
        assert pocketsphinx_stt.transcribe(load_wav(speak(sentence))) == sentence


def test_pocketsphinx_with_a_language_model_from_phrases(speak):
    phrases = ["set a timer for ten minutes", "set a timer for five minutes",
               "set an alarm for seven thirty", "what time is it", "cancel the timer"]
    stt = make_recognizer(replace(Config(), speech={"engine": "pocketsphinx"}), phrases=phrases)
    try:
        assert stt.transcribe(load_wav(speak("set an alarm for seven thirty", "rms"))) == \
            "set an alarm for seven thirty"
    finally:
        stt.close()


def test_vosk_korean_grammar(vosk_ko_stt, speak):
    text = vosk_ko_stt.transcribe(load_wav(speak("지금 몇 시 야", "espeak:ko")))
    assert text == "지금 몇 시 야"


@pytest.mark.parametrize("fixture", ["whisper_stt", "pocketsphinx_stt"])
def test_ten_minutes_of_silence_is_nothing_and_fast(request, fixture):
    stt = request.getfixturevalue(fixture)
    t0 = time.perf_counter()
    assert stt.transcribe(bytes(16000 * 2 * 600)) == ""
    assert time.perf_counter() - t0 < 10  # generous: it is ~0.1 s (VAD only)


def test_noise_is_not_a_command(whisper_stt):
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(16000 * 4) * 3000).clip(-32768, 32767).astype("<i2").tobytes()
    assert whisper_stt.transcribe(noise) == ""


def test_engine_errors_are_clear(tmp_path):
    with pytest.raises(SpeechError, match="not a Vosk model folder"):
        make_recognizer(replace(Config(), speech={"engine": "vosk", "model_path": str(tmp_path)}))
    with pytest.raises(SpeechError, match="needs a model folder"):
        make_recognizer(replace(Config(), speech={"engine": "vosk", "language": "en"}))
    with pytest.raises(SpeechError, match="not a folder"):
        make_recognizer(replace(Config(), speech={"engine": "whisper",
                                                  "model_path": str(tmp_path / "none")}))
    with pytest.raises(SpeechError, match="expected one of"):
        make_recognizer(replace(Config(), speech={"engine": "julius"}))


def test_whisper_long_recording_is_cut_by_the_vad(whisper_stt, speak):
    gap = bytes(16000 * 2 * 20)
    pcm = gap + load_wav(speak("what time is it")) + gap + load_wav(speak("cancel the timer")) + gap
    assert words(whisper_stt.transcribe(pcm)) == "what time is it cancel the timer"


def test_collapse_repeats():
    from assistant.speech.whisper_engine import collapse_repeats

    assert collapse_repeats("What alarms do I have? What alarms do I have?") == "What alarms do I have?"
    assert collapse_repeats("set a timer for ten minutes") == "set a timer for ten minutes"
