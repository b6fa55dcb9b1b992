"""Wyoming parts on their own: the config section, the bounded reader, audio conversion,
satellite sites and the timer-event diff (on a real SQLite store)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import config as config_mod
from assistant.config import ConfigError
from assistant.wyoming.audio import AudioBuffer, AudioFormat, AudioFormatError, to_pcm16k
from assistant.wyoming.protocol import Limits, ProtocolError, read_event
from assistant.wyoming.satellite import satellite_site


def test_config_defaults_and_validation() -> None:
    w = config_mod.Config().wyoming
    assert (w.enabled, w.uri, w.zeroconf, w.satellites) == (False, "tcp://0.0.0.0:10700", False, [])
    ok = config_mod.from_dict({"wyoming": {"uri": "unix:///run/assistant/wy.sock",
                                           "satellites": ["tcp://kitchen.local:10700#kitchen"],
                                           "programs": ["handle", "tts"]}})
    assert ok.wyoming.programs == ["handle", "tts"]
    for bad, msg in (({"uri": "http://x:1"}, "expected \"tcp://HOST:PORT\""),
                     ({"uri": "tcp://0.0.0.0"}, "tcp://HOST:PORT"),
                     ({"uri": "tcp://0.0.0.0:99999"}, "tcp://HOST:PORT"),
                     ({"satellites": ["kitchen.local"]}, "satellites: 'kitchen.local'"),
                     ({"satellites": ["tcp://k:1#a/b"]}, "the site after '#'"),
                     ({"programs": ["handle", "music"]}, "'music': expected some of"),
                     ({"max_payload_bytes": 0}, "expected a number above 0")):
        with pytest.raises(ConfigError, match="wyoming"):
            config_mod.from_dict({"wyoming": bad})
        try:
            config_mod.from_dict({"wyoming": bad})
        except ConfigError as exc:
            assert msg in str(exc), (bad, str(exc))


def test_repo_config_toml_loads() -> None:
    cfg = config_mod.load(Path(__file__).resolve().parents[1] / "config.toml")
    assert cfg.wyoming == config_mod.WyomingConfig()


def read(data: bytes, limits: Limits | None = None) -> object:
    limits = limits or Limits()

    async def run() -> object:
        r = asyncio.StreamReader(limit=limits.max_header)
        r.feed_data(data)
        r.feed_eof()
        return await read_event(r, limits)

    return asyncio.run(run())


def test_reader_accepts_both_data_styles_and_payloads() -> None:
    ev = read(b'{"type": "transcript", "data": {"text": "hi"}}\n')
    assert (ev.type, ev.data) == ("transcript", {"text": "hi"})
    ev = read(b'{"type": "audio-chunk", "data_length": 14, "payload_length": 4}\n'
              b'{"rate": 8000}abcd')
    assert (ev.data, ev.payload) == ({"rate": 8000}, b"abcd")
    assert read(b"") is None


@pytest.mark.parametrize("data,msg", [
    (b'{"type": "x"', "truncated header"),
    (b"not json\n", "header is not JSON"),
    (b'{"data": {}}\n', "has no \"type\""),
    (b'{"type": "a", "payload_length": -1}\n', "is not a byte count"),
    (b'{"type": "a", "payload_length": 2000000}\n', "exceeds the limit of 1048576"),
    (b'{"type": "a", "data_length": 5}\n{"a"', "the stream ended 4 bytes into a body of 5"),
    (b'{"type": "a", "data_length": 2}\n[]', "not a JSON object"),
    (b'{"type": "a"' + b" " * 70000 + b"}\n", "header line longer than 65536"),
])
def test_reader_refuses_malformed_streams(data: bytes, msg: str) -> None:
    with pytest.raises(ProtocolError, match=msg):
        read(data)


def test_reader_times_out_on_a_body_that_never_comes() -> None:
    async def run() -> None:
        r = asyncio.StreamReader()
        r.feed_data(b'{"type": "a", "payload_length": 10}\n12345')
        await read_event(r, Limits(body_timeout_s=0.2))

    t0 = time.monotonic()
    with pytest.raises(ProtocolError, match="not all arrived within 0.2 s"):
        asyncio.run(run())
    assert time.monotonic() - t0 < 2


def test_audio_conversion_formats() -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 0.5 * 32767).astype("<i2")
    stereo = np.repeat(tone, 2).tobytes()
    pcm = to_pcm16k(stereo, AudioFormat(48000, 2, 2))
    assert len(pcm) == 32000  # 1 s at 16 kHz mono s16
    assert 0.4 < np.abs(np.frombuffer(pcm, "<i2")).max() / 32768 < 0.6
    u8 = ((tone.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    assert len(to_pcm16k(u8, AudioFormat(48000, 1, 1))) == 32000
    same = tone[:16000].tobytes()
    assert to_pcm16k(same, AudioFormat(16000, 2, 1)) == same
    for bad in ({"rate": 16000, "width": 3, "channels": 1}, {"rate": 4000, "width": 2, "channels": 1},
                {"rate": 16000, "width": 2, "channels": 0}, {"rate": "x", "width": 2, "channels": 1},
                {"width": 2}):
        with pytest.raises(AudioFormatError):
            AudioFormat.from_data(bad)
    buf = AudioBuffer(AudioFormat(16000, 2, 1), max_s=1.0)
    buf.add(bytes(32000))
    with pytest.raises(AudioFormatError, match="longer than 1 s"):
        buf.add(bytes(2))


def test_satellite_sites() -> None:
    assert satellite_site("tcp://kitchen.local:10700") == "kitchen"
    assert satellite_site("tcp://kitchen.local:10700#Küche") == "Küche"
    assert satellite_site("tcp://192.168.1.20:10700") == "192-168-1-20"
    assert satellite_site("unix:///run/sat/bedroom.sock") == "bedroom"


def test_timer_events_from_store_changes(tmp_path: Path) -> None:
    from assistant.store.db import Item, Store
    from assistant.wyoming.timers import TimerTracker

    store = Store(tmp_path / "a.db")
    try:
        now = time.time()
        tracker = TimerTracker(store)
        a = Item(kind="timer", due_ts=now + 600, zone="UTC", site="kitchen", label="pasta",
                 duration_s=600)
        b = Item(kind="timer", due_ts=now + 90, zone="UTC", site="hall", duration_s=90)
        store.add(a)
        store.add(b)
        started = {site: ev for site, ev in tracker.changes()}
        assert started["kitchen"].type == "timer-started"
        assert started["kitchen"].data["name"] == "pasta"
        assert started["kitchen"].data["start_minutes"] == 10
        assert 598 <= started["kitchen"].data["total_seconds"] <= 600
        assert tracker.changes() == []
        assert [e.data["id"] for e in tracker.current("kitchen")] == [a.id]
        store.cancel([b.id])
        assert [(s, e.type, e.data["id"]) for s, e in tracker.changes()] == [
            ("hall", "timer-cancelled", b.id)]
        assert tracker.finished(a.id).type == "timer-finished"
    finally:
        store.close()
