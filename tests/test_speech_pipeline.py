"""Generated speech -> speech-to-text -> the one text entry point -> a reminder in SQLite.

Runs once the intent model is exported (`assistant export-model`); skipped with the reason
otherwise. The Korean vosk engine is tested on its own (tests/test_speech_engines.py): the
English NLU cannot read Korean.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Config, replace
from assistant.events import Request
from assistant.speech.audio import load_wav

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def assistant(tmp_path):
    pytest.importorskip("assistant.nlu.parser", reason="the NLU is not in the tree yet")
    cfg = replace(Config(), storage={"path": str(tmp_path / "assistant.db")},
                  nlu={"model_dir": str(ROOT / "models")}, time={"timezone": "Europe/Berlin"})
    if not (cfg.model_dir / cfg.nlu.variant).exists():
        pytest.skip(f"{cfg.model_dir / cfg.nlu.variant} missing: run `assistant export-model`")
    from assistant.pipeline import Assistant

    a = Assistant(cfg)
    yield a
    a.store.close()


@pytest.mark.parametrize("fixture", ["whisper_stt", "pocketsphinx_stt"])
def test_spoken_reminder_is_stored(request, assistant, speak, fixture):
    stt = request.getfixturevalue(fixture)
    text = stt.transcribe(load_wav(speak("remind me to pick up the dry cleaning at five pm")))
    reply = assistant.handle(Request(text=text, site="kitchen", source="voice"))
    assert reply.ok and reply.intent == "reminder.create", (text, reply)
    items = assistant.store.pending(kind="reminder")
    assert len(items) == 1 and "dry cleaning" in (items[0].subject or ""), (text, items)


def test_spoken_timer_is_stored(assistant, speak, whisper_stt):
    text = whisper_stt.transcribe(load_wav(speak("set a timer for ten minutes", "rms")))
    reply = assistant.handle(Request(text=text, site="kitchen", source="voice"))
    assert reply.intent == "timer.start" and reply.slots.get("duration_s") == 600, (text, reply)
