"""WAV reading and voice-activity detection on generated audio and on broken files."""

from __future__ import annotations

import struct
import subprocess
import wave

import numpy as np
import pytest

from assistant.speech.audio import AudioError, decode_wav, load_wav, pcm_to_wav, resample
from assistant.speech.vad import Segmenter, has_speech, segments


def test_16k_mono_passes_through_unchanged(speak):
    path = speak("what time is it")
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        raw = w.readframes(w.getnframes())
    assert load_wav(path) == raw


def test_44k_stereo_is_resampled_to_16k_mono(speak):
    ref = load_wav(speak("what time is it"))
    pcm = load_wav(speak("what time is it", rate=44100, channels=2))
    assert abs(len(pcm) - len(ref)) <= 8  # same duration at 16 kHz
    a = np.frombuffer(ref, "<i2").astype(float)
    b = np.frombuffer(pcm, "<i2").astype(float)[: a.size]
    corr = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert corr > 0.9, corr  # the same waveform, not noise


def test_float32_and_8bit_wavs_are_read(speak, tmp_path):
    src = speak("set a timer")
    ref = load_wav(src)
    for enc, bits, name in (("floating-point", "32", "f.wav"), ("unsigned-integer", "8", "u8.wav")):
        out = tmp_path / name
        subprocess.run(["sox", str(src), "-e", enc, "-b", bits, str(out)], check=True)
        pcm = load_wav(out)
        assert len(pcm) == len(ref)


def test_empty_file_gives_a_clear_error(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: the file is empty"):
        load_wav(p)


@pytest.mark.parametrize("payload, message", [
    (b"this is not audio at all" * 10, "not a WAV file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt \x04\x00\x00\x00ab", "format chunk is truncated"),
    (b"RIFF\x04\x00\x00\x00WAVE", "no format chunk"),
])
def test_corrupt_files_give_one_line_errors(tmp_path, payload, message):
    p = tmp_path / "bad.wav"
    p.write_bytes(payload)
    with pytest.raises(AudioError, match=message) as info:
        load_wav(p)
    assert "\n" not in str(info.value)


def test_header_only_and_unsupported_encodings(tmp_path):
    with pytest.raises(AudioError, match="no audio samples"):
        decode_wav(pcm_to_wav(b""))
    fmt = struct.pack("<HHIIHH", 2, 1, 16000, 8000, 1, 4)  # MS ADPCM
    data = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 4) + b"\0" * 4
    with pytest.raises(AudioError, match="unsupported WAV encoding"):
        decode_wav(data)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_wav(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="is a folder"):
        load_wav(tmp_path)


def test_resample_keeps_a_tone_in_band():
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = resample(x, 44100, 16000)
    assert y.size == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1


def test_vad_cuts_two_commands_apart(speak_pcm):
    gap = bytes(16000 * 2 * 2)  # 2 s of silence
    pcm = speak_pcm("set a timer for ten minutes") + gap + speak_pcm("what time is it") + gap
    utts = list(segments(pcm, silence_s=0.8))
    assert len(utts) == 2
    assert 1.0 < len(utts[0]) / 32000 < 4.5


def test_vad_streaming_and_max_length(speak_pcm):
    seg = Segmenter(aggressiveness=2, silence_s=0.5, max_utterance_s=1.0)
    pcm = speak_pcm("remind me to pick up the dry cleaning at five")
    out = []
    for k in range(0, len(pcm), 1234):  # odd chunk sizes, as a device delivers
        out += seg.feed(pcm[k:k + 1234])
    last = seg.flush()
    out += [last] if last else []
    assert len(out) >= 2 and all(len(u) <= 32000 * 1.0 + 960 for u in out)


def test_silence_and_clicks_hold_no_speech():
    assert not has_speech(bytes(16000 * 2 * 5))
    click = np.zeros(16000 * 2, np.int16)
    click[8000:8040] = 20000
    assert not has_speech(click.tobytes())
    assert list(segments(bytes(16000 * 2 * 60))) == []
