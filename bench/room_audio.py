"""Real-room test audio, generated at run time (never committed): speech, reverb, noise, babble.

Used by bench/voice.py and the voice tests. Speech comes from Piper (the en_US-joe-medium voice
with varied length/noise scales), flite (slt, rms) and espeak-ng; everything is 16 kHz mono
float32. Rooms are `sox reverb`; noise beds are sox's white/pink/brown noise (`synth`) and
babble made of four overlapping Piper talkers; `mix_at_snr` scales the noise against the speech
power of the voiced part. The hour of non-wake speech for false accepts (`false_accept_hour`)
is built once into a cache folder outside git and reused.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

RATE = 16000
CACHE = Path(os.environ.get("ASSISTANT_AUDIO_CACHE", "/tmp/assistant-voice-cache"))
NOISES = ("white", "pink", "brown", "babble")
VOICES = ("piper", "piper-fast", "piper-slow", "slt", "rms", "espeak")


def _to16k(x: np.ndarray, rate: int) -> np.ndarray:
    from assistant.speech.audio import resample

    return resample(x.astype(np.float32), rate, RATE)


@lru_cache(maxsize=1)
def piper():
    from assistant.speech.piper_tts import load_piper_voice

    return load_piper_voice()


def speak(text: str, voice: str = "piper", seed: int = 0) -> np.ndarray:
    """`text` spoken by `voice` (see VOICES), 16 kHz float32; cached on disk by content."""
    key = hashlib.sha1(f"{voice}|{seed}|{text}".encode()).hexdigest()[:16]
    cached = CACHE / "speech" / f"{key}.npy"
    if cached.exists():
        return np.load(cached)
    if voice.startswith("piper"):
        rng = random.Random(f"{seed}:{text}")
        length = {"piper": 1.0, "piper-fast": 0.85, "piper-slow": 1.2}[voice] * rng.uniform(0.95, 1.05)
        pcm = b"".join(piper().stream(text, length_scale=length,
                                      noise_scale=rng.uniform(0.5, 0.8),
                                      noise_w_scale=rng.uniform(0.6, 1.0)))
        x = _to16k(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, piper().sample_rate)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            if voice == "espeak":
                cmd = ["espeak-ng", "-v", "en-us", "-w", str(raw), text]
            else:
                cmd = ["flite", "-voice", voice, "-t", text, "-o", str(raw)]
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            from assistant.speech.audio import load_wav, pcm_to_float

            x = pcm_to_float(load_wav(raw))
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, x.astype(np.float32))
    return x.astype(np.float32)


def _sox(x: np.ndarray, *effects: str) -> np.ndarray:
    from assistant.speech.audio import float_to_pcm, pcm_to_float, pcm_to_wav

    proc = subprocess.run(["sox", "-t", "wav", "-", "-t", "wav", "-", *effects],
                          input=pcm_to_wav(float_to_pcm(x)), capture_output=True, check=True, timeout=120)
    from assistant.speech.audio import decode_wav

    return pcm_to_float(decode_wav(proc.stdout))


def reverb(x: np.ndarray, room: int = 40) -> np.ndarray:
    """A living room: sox reverb (reverberance `room` %, HF damping 50 %, room scale 60 %)."""
    y = _sox(x, "reverb", str(room), "50", "60")
    return y[: len(x) + RATE // 2]


@lru_cache(maxsize=8)
def noise_bed(kind: str, seconds: int = 60) -> np.ndarray:
    """A minute of noise to cut from: sox `synth` white/pink/brown noise, or Piper babble."""
    cached = CACHE / f"noise-{kind}-{seconds}.npy"
    if cached.exists():
        return np.load(cached)
    if kind == "babble":
        x = babble(seconds)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "n.wav"
            subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                            "synth", str(seconds), f"{kind}noise", "vol", "0.5"],
                           check=True, capture_output=True, timeout=120)
            from assistant.speech.audio import load_wav, pcm_to_float

            x = pcm_to_float(load_wav(out))
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, x)
    return x


BABBLE_TEXT = [
    "I think we should leave a little earlier on Saturday, the traffic was terrible last week.",
    "Did you see the game last night? The second half was unbelievable.",
    "The recipe says two cups of flour, but I always add a bit more.",
    "She told me the meeting was moved to the big room on the third floor.",
    "We could paint the hallway a lighter colour, it feels so dark in winter.",
    "My brother is visiting next month and he wants to see the old harbour.",
    "Honestly the new phone is fine, but the battery barely lasts a day.",
    "The kids have a school trip on Thursday, they need packed lunches.",
]


def babble(seconds: int) -> np.ndarray:
    """Four Piper talkers at once (party/TV chatter), each looping its own sentences."""
    out = np.zeros(seconds * RATE, np.float32)
    for talker in range(4):
        rng = random.Random(talker)
        pos = rng.randint(0, RATE)
        while pos < len(out):
            s = speak(rng.choice(BABBLE_TEXT), rng.choice(("piper", "piper-fast", "piper-slow")), talker)
            n = min(len(s), len(out) - pos)
            out[pos:pos + n] += s[:n] * rng.uniform(0.6, 1.0)
            pos += n + rng.randint(RATE // 10, RATE // 2)
    return out / 4


def active_power(x: np.ndarray) -> float:
    """Mean power of the voiced part (frames within 30 dB of the loudest): SNR reference."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    p = (frames.astype(np.float64) ** 2).mean(axis=1)
    if p.size == 0 or p.max() <= 0:
        return 0.0
    return float(p[p > p.max() * 1e-3].mean())


def mix_at_snr(speech: np.ndarray, kind: str, snr_db: float | None, seed: int = 0) -> np.ndarray:
    """Speech plus `kind` noise at `snr_db` (None: clean), peak-limited to [-1, 1]."""
    if snr_db is None:
        return speech
    bed = noise_bed(kind)
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, max(1, len(bed) - len(speech))))
    n = np.resize(bed[start:start + len(speech)], len(speech))
    pn = float((n.astype(np.float64) ** 2).mean()) or 1e-12
    n = n * np.sqrt(active_power(speech) / pn / 10 ** (snr_db / 10))
    y = speech + n
    peak = float(np.abs(y).max())
    return (y / peak * 0.95 if peak > 0.95 else y).astype(np.float32)


def utterance(parts: list[str], voice: str, seed: int, pause_s: float = 0.15) -> np.ndarray:
    """Several phrases by one voice ("okay nabu", then the command) with a short pause."""
    gap = np.zeros(int(pause_s * RATE), np.float32)
    out: list[np.ndarray] = []
    for k, text in enumerate(parts):
        out += ([gap] if k else []) + [speak(text, voice, seed)]
    return np.concatenate(out)


def room_clip(parts: list[str], voice: str, snr_db: float | None, noise: str = "pink",
              seed: int = 0, lead_s: float = 1.0, tail_s: float = 1.5) -> np.ndarray:
    """What a microphone across the room hears: silence, the phrases, silence; reverberated,
    then noise over the whole clip (noise is there before and after the speech too)."""
    x = utterance(parts, voice, seed)
    room_clip.speech_end_s = lead_s + len(x) / RATE  # where the last phrase ends (for benches)
    x = np.concatenate([np.zeros(int(lead_s * RATE), np.float32), x,
                        np.zeros(int(tail_s * RATE), np.float32)])
    x = reverb(x)
    x = x / max(1e-6, float(np.abs(x).max())) * 0.5
    return mix_at_snr(x, noise, snr_db, seed)


def write_wav(x: np.ndarray, path: Path) -> Path:
    from assistant.speech.audio import float_to_pcm, pcm_to_wav

    path.write_bytes(pcm_to_wav(float_to_pcm(x)))
    return path


def non_wake_sentences(n: int, seed: int = 1) -> list[str]:
    """Varied sentences without the wake word: the skills' commands, out-of-scope requests,
    chatter."""
    from assistant.nlu.sentences import expand_set, read_files
    from assistant.nlu.training import sentence_files

    rows = [s for s, _i, _src in expand_set(read_files(sentence_files()), limit=6)]
    rows += [t.lower() for t in BABBLE_TEXT]
    rng = random.Random(seed)
    rng.shuffle(rows)
    return [r for r in rows if "nabu" not in r and "jarvis" not in r][:n]


def false_accept_hour(minutes_unique: int = 16, variants: int = 4) -> Path:
    """At least an hour of 16 kHz non-wake speech (cached WAV): `minutes_unique` minutes of
    Piper/flite reading varied sentences, in `variants` renderings (clean room, pink noise at
    10 dB, babble at 10 dB, sped up 10 %), so no stretch repeats verbatim."""
    out = CACHE / f"false-accept-{minutes_unique}x{variants}.wav"
    if out.exists():
        return out
    rng = random.Random(3)
    pieces: list[np.ndarray] = []
    total = 0
    for k, text in enumerate(non_wake_sentences(5000)):
        if total >= minutes_unique * 60 * RATE:
            break
        voice = ("piper", "piper-fast", "piper-slow", "piper", "slt", "rms")[k % 6]
        s = speak(text, voice, k)
        pieces += [s, np.zeros(int(rng.uniform(0.2, 1.2) * RATE), np.float32)]
        total += len(pieces[-1]) + len(s)
    base = reverb(np.concatenate(pieces), 30)
    base = base / max(1e-6, float(np.abs(base).max())) * 0.5
    renders = [base, mix_at_snr(base, "pink", 10, 1), mix_at_snr(base, "babble", 10, 2),
               _sox(base, "tempo", "1.1")][:variants]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    write_wav(np.concatenate(renders), tmp)
    tmp.rename(out)
    return out


__all__ = ["NOISES", "VOICES", "false_accept_hour", "mix_at_snr", "noise_bed", "reverb",
           "room_clip", "speak", "write_wav"]
