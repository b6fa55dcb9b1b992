"""The Wyoming server of a running daemon, called with the real `wyoming` library as Home
Assistant's Wyoming integration calls it: describe, transcript (conversation agent), recognize,
audio to asr, synthesize, detect. Then bad input on raw sockets: each bad client is closed with
a log line while a good client keeps being served and the daemon's memory stays bounded. MQTT
is on at the same time and answers as before.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import wave
from pathlib import Path

import numpy as np
import psutil
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.info import Describe, Info
from wyoming.intent import Recognize
from wyoming.tts import Synthesize
from wyoming.wake import Detect

from tests.fixtures.audio import synthesize
from tests.fixtures.broker import Broker
from tests.fixtures.wyoming import call, header, raw_exchange, start_daemon, stop_daemon


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("wyoming")
    broker = Broker(folder / "broker").start()
    daemon, port = start_daemon(folder / "daemon", mqtt={"enabled": True, **broker.mqtt_section()})
    yield daemon, port, broker
    stop_daemon(daemon)
    broker.stop()


def audio_stream(wav: Path, chunk_samples: int = 1024) -> list:
    with wave.open(str(wav)) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = w.readframes(w.getnframes())
    step = chunk_samples * width * channels
    events = [AudioStart(rate=rate, width=width, channels=channels)]
    events += [AudioChunk(rate=rate, width=width, channels=channels, audio=data[k:k + step])
               for k in range(0, len(data), step)]
    return events + [AudioStop()]


def store_items(daemon) -> list:
    from assistant.store.db import Store

    store = Store(Path(str(daemon.config)).parent / "state" / "assistant.db", readonly=True)
    try:
        return store.pending()
    finally:
        store.close()


# -- describe -----------------------------------------------------------------------------
def test_describe_lists_the_enabled_programs(served) -> None:
    _, port, _ = served
    info = Info.from_event(call(port, Describe())[0])
    assert [p.name for p in info.handle] == ["assistant"]
    assert info.intent[0].models[0].languages == ["en"]
    assert info.asr[0].name == "assistant-whisper"
    assert [v.name for v in info.tts[0].voices] == ["default"]
    assert info.wake[0].models[0].name == "hey_assistant"
    assert all(p.installed for p in (*info.handle, *info.intent, *info.asr, *info.tts, *info.wake))


# -- handle: HA's conversation agent --------------------------------------------------------
def test_transcript_is_handled_and_creates_the_timer(served) -> None:
    daemon, port, _ = served
    ctx = {"conversation_id": "conv-1", "site": "kitchen"}
    ev = call(port, Transcript("set a pasta timer for eight minutes", context=ctx,
                               language="en"))[0]
    assert ev.type == "handled", ev
    assert "8 minutes" in ev.data["text"]
    assert ev.data["context"] == {"conversation_id": "conv-1", "site": "kitchen"}
    timers = [it for it in store_items(daemon) if it.kind == "timer" and it.site == "kitchen"]
    assert [(t.label, t.duration_s) for t in timers] == [("pasta", 480)]


def test_out_of_scope_is_not_handled(served) -> None:
    _, port, _ = served
    ev = call(port, Transcript("what's the weather like in Paris"))[0]
    assert ev.type == "not-handled"
    assert ev.data["text"] == "Sorry, I can't help with that."
    assert ev.data["context"]["conversation_id"]  # a new conversation id is given out


def test_follow_up_question_in_the_same_conversation(served) -> None:
    daemon, port, _ = served
    ctx = {"conversation_id": "conv-2", "site": "study"}
    first = call(port, Transcript("remind me to call the plumber", context=ctx))[0]
    assert first.type == "handled" and first.data["text"].endswith("?"), first
    second = call(port, Transcript("tomorrow at 5 pm", context=first.data["context"]))[0]
    assert second.type == "handled", second
    items = [it for it in store_items(daemon) if it.site == "study"]
    assert [it.subject for it in items] == ["call the plumber"]
    assert items[0].due.hour == 17


def test_a_question_belongs_to_its_conversation(served) -> None:
    daemon, port, _ = served
    a = {"conversation_id": "conv-a", "site": "hall"}
    b = {"conversation_id": "conv-b", "site": "hall"}
    q = call(port, Transcript("remind me to feed the cat", context=a))[0]
    assert q.data["text"].endswith("?"), q
    other = call(port, Transcript("tomorrow at 7 am", context=b))[0]  # not B's question
    assert not [it for it in store_items(daemon) if it.subject == "feed the cat"], other
    answer = call(port, Transcript("tomorrow at 8 am", context=a))[0]
    assert answer.type == "handled", answer
    items = [it for it in store_items(daemon) if it.subject == "feed the cat"]
    assert [(it.site, it.due.hour) for it in items] == [("hall", 8)]


def test_site_defaults_to_the_configured_one(served) -> None:
    daemon, port, _ = served
    ev = call(port, Transcript("set a timer for 42 minutes"))[0]
    assert ev.data["context"]["site"] == "default"
    assert any(it.duration_s == 42 * 60 and it.site == "default" for it in store_items(daemon))


# -- intent ---------------------------------------------------------------------------------
def test_recognize_gives_intent_and_entities(served) -> None:
    _, port, _ = served
    ev = call(port, Recognize("remind me to water the plants tomorrow at 6 pm"))[0]
    assert ev.type == "intent"
    assert ev.data["name"] == "reminder.create"
    ents = {e["name"]: e["value"] for e in ev.data["entities"]}
    assert ents["subject"] == "water the plants"
    assert "T18:00:00" in ents["when"]
    ev = call(port, Recognize("play some jazz music"))[0]
    assert ev.type == "not-recognized"


# -- asr / tts / wake -----------------------------------------------------------------------
def test_asr_any_rate_and_channels(served, tmp_path: Path) -> None:
    _, port, _ = served
    wav = synthesize("set a timer for ten minutes", "slt", tmp_path / "a.wav", rate=44100,
                     channels=2)
    ev = call(port, Transcribe(language="en"), *audio_stream(wav))[0]
    assert ev.type == "transcript"
    text = ev.data["text"].lower()
    assert "timer" in text and ("10" in text or "ten" in text), text


def test_tts_round_trip_through_asr(served) -> None:
    _, port, _ = served
    events = call(port, Synthesize("Remind me to buy milk"))
    assert [e.type for e in events[:1]] == ["audio-start"] and events[-1].type == "audio-stop"
    chunks = [e for e in events if e.type == "audio-chunk"]
    pcm = b"".join(c.payload for c in chunks)
    assert chunks[0].data["rate"] == 16000 and len(pcm) > 16000  # > 0.5 s of speech
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 1000
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    back = call(port, Transcribe(), AudioStart(**fmt),
                *(AudioChunk(audio=pcm[k:k + 4096], **fmt) for k in range(0, len(pcm), 4096)),
                AudioStop())[0]
    assert "milk" in back.data["text"].lower(), back


def test_wake_word_detected_and_not_detected(served, tmp_path: Path) -> None:
    _, port, _ = served
    yes = synthesize("hey assistant, what time is it", "slt", tmp_path / "y.wav", rate=16000)
    ev = call(port, Detect(names=["hey_assistant"]), *audio_stream(yes),
              until=("detection", "not-detected"))
    assert ev[-1].type == "detection" and ev[-1].data["name"] == "hey_assistant"
    assert 300 < ev[-1].data["timestamp"] < 2500
    no = synthesize("the weather is nice today", "slt", tmp_path / "n.wav", rate=16000)
    ev = call(port, Detect(), *audio_stream(no), until=("detection", "not-detected"))
    assert ev[-1].type == "not-detected"


def test_unix_socket_server(tmp_path: Path) -> None:
    sock = tmp_path / "wy.sock"
    daemon, _ = start_daemon(tmp_path / "d", wyoming={"uri": f"unix://{sock}",
                                                      "programs": ["handle"]})
    try:
        t0 = time.monotonic()
        while not sock.exists() and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        uri = f"unix://{sock}"
        info = Info.from_event(call(0, Describe(), uri=uri)[0])
        assert info.handle and not info.asr and not info.intent
        ev = call(0, Transcript("what time is it"), uri=uri)[0]
        assert ev.type == "handled" and ev.data["text"]
    finally:
        stop_daemon(daemon)
    assert not sock.exists()


# -- MQTT is unchanged ----------------------------------------------------------------------
def test_mqtt_still_answers_with_wyoming_on(served) -> None:
    import paho.mqtt.client as mqtt

    _, _, broker = served
    got: list[dict] = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wy-probe")
    c.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    c.connect(broker.host, broker.port)
    c.subscribe("assistant/default/reply", qos=1)
    c.loop_start()
    try:
        time.sleep(0.5)
        c.publish("assistant/default/command", json.dumps({"text": "what time is it",
                                                            "id": "q1"}), qos=1)
        t0 = time.monotonic()
        while not got and time.monotonic() - t0 < 30:
            time.sleep(0.1)
    finally:
        c.loop_stop()
        c.disconnect()
    assert got and got[0]["id"] == "q1" and got[0]["ok"] and got[0]["intent"] == "time.query"


# -- bad input --------------------------------------------------------------------------------
class GoodClient:
    """Keeps one connection open and asks Describe every so often during the bad-input tests."""

    def __init__(self, port: int) -> None:
        self.port = port

    def check(self) -> None:
        ev = call(self.port, Describe(), timeout=20)
        assert ev and ev[0].type == "info"


def _error_of(reply: bytes) -> dict:
    line = reply.split(b"\n", 1)[0]
    head = json.loads(line)
    assert head["type"] == "error", reply[:200]
    rest = reply[len(line) + 1:]
    return json.loads(rest[:head["data_length"]]) if head.get("data_length") else head["data"]


def test_bad_input_closes_only_that_connection(served) -> None:
    daemon, port, _ = served
    proc = psutil.Process(daemon.proc.pid)
    rss0 = proc.memory_info().rss
    good = GoodClient(port)

    # an event type that is not Wyoming
    err = _error_of(raw_exchange(port, header("launch-missiles"), close_write=False))
    assert "unknown event type" in err["text"]
    good.check()
    # a truncated header: the stream ends without a newline
    err = _error_of(raw_exchange(port, b'{"type": "describe", "vers'))
    assert "truncated header" in err["text"]
    good.check()
    # a payload length larger than what follows
    err = _error_of(raw_exchange(port, header("audio-chunk", payload_length=5000,
                                              data={"rate": 16000, "width": 2, "channels": 1})
                                 + b"\0" * 1000))
    assert "1000 bytes into a body of 5000" in err["text"]
    good.check()
    # a 100 MB payload: refused at the header, never read
    reply = raw_exchange(port, header("audio-chunk", payload_length=100_000_000,
                                      data={"rate": 16000, "width": 2, "channels": 1})
                         + b"\0" * 1_000_000, close_write=False)
    assert "exceeds the limit" in _error_of(reply)["text"]
    good.check()
    # audio in a format we do not take (24-bit samples)
    reply = raw_exchange(port, header("transcribe") + header(
        "audio-start", data={"rate": 16000, "width": 3, "channels": 1}), close_write=False)
    assert "unsupported sample width 3" in _error_of(reply)["text"]
    good.check()
    # a client that disconnects in the middle of an audio stream
    with socket.create_connection(("127.0.0.1", port)) as s:
        fmt = {"rate": 16000, "width": 2, "channels": 1}
        s.sendall(header("transcribe") + header("audio-start", data=fmt)
                  + header("audio-chunk", data=fmt, payload_length=3200) + b"\1" * 3200)
        time.sleep(0.3)
    good.check()
    # an audio stream longer than max_audio_s is cut off, not buffered
    async def too_long() -> list:
        from wyoming.client import AsyncTcpClient

        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(Transcribe().event())
            await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            second = bytes(32000)
            for _ in range(31):  # the 31st second crosses max_audio_s = 30
                await c.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                               audio=second).event())
            out = []
            while (ev := await asyncio.wait_for(c.read_event(), 20)) is not None:
                out.append(ev)
            return out

    out = asyncio.run(too_long())
    assert out and out[0].type == "error" and "longer than 30 s" in out[0].data["text"]
    good.check()

    time.sleep(0.5)
    log = daemon.log()
    for expected in ("unknown event type 'launch-missiles'; closing the connection",
                     "truncated header",
                     "the stream ended 1000 bytes into a body of 5000 announced bytes",
                     "payload_length = 100000000 exceeds the limit of 1048576 bytes",
                     "unsupported sample width 3 bytes",
                     "disconnected in the middle of an audio stream",
                     "audio stream longer than 30 s"):
        assert expected in log, expected
    assert proc.memory_info().rss - rss0 < 60 * 2**20  # the 100 MB payload was never held


def test_too_many_clients_get_a_busy_error(tmp_path: Path) -> None:
    daemon, port = start_daemon(tmp_path / "d", wyoming={"programs": ["handle"],
                                                        "max_clients": 2})
    try:
        time.sleep(0.5)  # start_daemon's own port probe has been closed and counted out
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        for s in held:  # both are served sessions: they answer describe
            s.sendall(header("describe"))
            assert b'"type": "info"' in s.recv(65536)
        reply = raw_exchange(port, b"", close_write=False)
        assert "too many connections" in _error_of(reply)["text"]
        for s in held:
            s.close()
        time.sleep(0.3)
        assert call(port, Describe())[0].type == "info"
    finally:
        stop_daemon(daemon)


def test_zeroconf_advertises_wyoming_tcp(tmp_path: Path) -> None:
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    name = f"assistant-test-{tmp_path.name[-6:]}-{int(time.time() * 1000) % 100000}"
    daemon, port = start_daemon(tmp_path / "d", wyoming={"programs": ["handle"],
                                                        "zeroconf": True,
                                                        "zeroconf_name": name})

    async def lookup() -> AsyncServiceInfo | None:
        zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        try:
            info = AsyncServiceInfo("_wyoming._tcp.local.", f"{name}._wyoming._tcp.local.")
            for _ in range(5):
                if await info.async_request(zc.zeroconf, 3000):
                    return info
            return None
        finally:
            await zc.async_close()

    try:
        info = asyncio.run(lookup())
        assert info is not None, daemon.log()[-2000:]
        assert info.port == port
        assert info.parsed_addresses() == ["127.0.0.1"]
    finally:
        stop_daemon(daemon)
    assert f"zeroconf: advertising {name}._wyoming._tcp.local. on 127.0.0.1:{port}" in daemon.log()


def test_an_engine_that_cannot_load_is_not_offered(tmp_path: Path) -> None:
    daemon, port = start_daemon(tmp_path / "d", speech={"engine": "vosk", "language": "en"},
                                wyoming={"programs": ["handle", "asr"]})
    try:
        t0 = time.monotonic()
        while "not offered in info" not in daemon.log() and time.monotonic() - t0 < 30:
            time.sleep(0.2)
        info = Info.from_event(call(port, Describe())[0])
        assert info.handle and not info.asr
        fmt = {"rate": 16000, "width": 2, "channels": 1}
        ev = call(port, Transcribe(), AudioStart(**fmt), AudioChunk(audio=bytes(32000), **fmt),
                  AudioStop())[0]
        assert ev.type == "error" and "speech-to-text failed" in ev.data["text"]
    finally:
        stop_daemon(daemon)
    assert "speech-to-text unavailable (not offered in info)" in daemon.log()
