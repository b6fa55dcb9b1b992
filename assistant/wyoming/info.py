"""The answer to `describe`: an `info` event listing the programs this daemon offers.

HA's Wyoming integration creates one entity per program kind it finds here: a conversation
agent (from `intent` or `handle`), a speech-to-text and a text-to-speech provider, a wake-word
provider. Only programs that are enabled in `[wyoming] programs` and whose engine is configured
are listed, so HA never offers something that would fail.
"""

from __future__ import annotations

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    IntentModel,
    IntentProgram,
    TtsProgram,
    TtsVoice,
    WakeModel,
    WakeProgram,
)

from assistant import __version__
from assistant.config import Config
from assistant.wyoming.engines import Engines
from assistant.wyoming.programs import wake_model_name

__all__ = ["build_info", "offered_programs"]

ATTRIBUTION = Attribution(name="assistant", url="https://github.com/")
NAME = "assistant"


def offered_programs(cfg: Config, engines: Engines) -> list[str]:
    """The configured programs minus those whose engine is switched off."""
    out = []
    for p in cfg.wyoming.programs:
        if p == "tts" and not engines.tts_available:
            continue
        if p == "wake" and not engines.wake_phrase:
            continue
        if p not in out:
            out.append(p)
    return out


def build_info(cfg: Config, engines: Engines, programs: list[str]) -> Info:
    lang = [cfg.speech.language or "en"]
    info = Info()
    common = {"attribution": ATTRIBUTION, "installed": True, "version": __version__}
    if "handle" in programs:
        info.handle.append(HandleProgram(
            name=NAME, description="Reminders, alarms, timers and calendar (offline)",
            models=[HandleModel(name=f"{NAME}-{cfg.nlu.variant}", description="intent model",
                                languages=lang, **common)],
            supports_home_control=False, **common))
    if "intent" in programs:
        info.intent.append(IntentProgram(
            name=NAME, description="Intent recognition: reminder/alarm/timer/calendar/clock",
            models=[IntentModel(name=f"{NAME}-{cfg.nlu.variant}", description="intent model",
                                languages=lang, **common)], **common))
    if "asr" in programs:
        info.asr.append(AsrProgram(
            name=f"{NAME}-{engines.stt_name}", description=f"{engines.stt_name} speech-to-text",
            models=[AsrModel(name=engines.stt_name, description=f"{engines.stt_name} model",
                             languages=lang, **common)], **common))
    if "tts" in programs:
        voices = [TtsVoice(name=v.name, description=f"{v.engine} voice",
                           languages=list(v.languages), **common) for v in engines.voices()]
        info.tts.append(TtsProgram(name=f"{NAME}-{cfg.tts.engine}",
                                   description=f"{cfg.tts.engine} text-to-speech",
                                   voices=voices, **common))
    if "wake" in programs:
        phrase = engines.wake_phrase
        info.wake.append(WakeProgram(
            name=f"{NAME}-wake", description="wake word",
            models=[WakeModel(name=wake_model_name(phrase), description=phrase, phrase=phrase,
                              languages=lang, **common)], **common))
    return info
