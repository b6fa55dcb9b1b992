"""Wyoming latencies against a running daemon (`assistant run` as a subprocess).

  1. Transcript -> Handled, as Home Assistant's conversation agent calls it (one TCP
     connection per transcript, the `wyoming` library's client), --n requests of a mix of
     timers, reminders, clock questions and out-of-scope text; p50/p90/p99 on the client side.
  2. Satellite: audio end -> reply audio. A satellite built on the `wyoming` library (the
     protocol wyoming-satellite speaks, with a local wake word: run-pipeline asr -> tts)
     streams flite speech in real time, then silence; the figure is the time from the last
     speech chunk sent to the reply's audio-start (and its first audio-chunk) received.
     It contains the VAD's end-of-speech wait (`[speech] silence_s`, 0.6 s by default),
     Whisper tiny.en, the pipeline and espeak-ng.
  3. Idle cost of a continuously streaming satellite: a real wyoming-satellite process
     (from .venv-satellite; skipped without it) streams silence from its file microphone
     and the daemon listens for the wake word; the daemon's CPU over --idle-s seconds.

    .venv/bin/python bench/wyoming_latency.py [--n 300] [--trials 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXTS = ["set a timer for {n} minutes", "what time is it", "remind me to water the plants at {h} pm",
         "what's the weather like", "how long is left on my timer", "what's the date today"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))], 2)


def start_daemon(folder: Path, port: int, satellites: list[str]) -> subprocess.Popen:
    from tests.fixtures.daemon import write_config

    folder.mkdir(parents=True, exist_ok=True)
    cfg = write_config(folder, mqtt={"enabled": False},
                       speech={"enabled": False, "wake_word": "hey assistant", "wake_engine": "pocketsphinx"},
                       tts={"engine": "espeak-ng", "wav_dir": str(folder / "spoken")},
                       log={"level": "WARNING"},
                       wyoming={"enabled": True, "uri": f"tcp://127.0.0.1:{port}",
                                "satellites": satellites})
    env = {**os.environ}
    env.pop("ASSISTANT_CONFIG", None)
    with open(folder / "daemon.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config",
                                 str(cfg)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise SystemExit((folder / "daemon.log").read_text())
        time.sleep(0.2)
    raise SystemExit("daemon did not listen within 120 s")


async def handled_latencies(port: int, n: int) -> tuple[list[float], dict[str, int]]:
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient

    out, kinds = [], {"handled": 0, "not-handled": 0}
    for i in range(n):
        text = TEXTS[i % len(TEXTS)].format(n=i % 50 + 1, h=i % 5 + 1)
        t0 = time.perf_counter()
        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(Transcript(text, context={"conversation_id": f"b{i}"}).event())
            ev = await c.read_event()
        out.append((time.perf_counter() - t0) * 1000)
        kinds[ev.type] = kinds.get(ev.type, 0) + 1
    return out, kinds


class FakeSatellite:
    """Library-built satellite: on run-satellite, runs `trials` spoken commands."""

    def __init__(self, speech: bytes, trials: int) -> None:
        self.speech, self.trials = speech, trials
        self.start_ms: list[float] = []
        self.chunk_ms: list[float] = []
        self.done = asyncio.Event()

    async def serve(self, port: int) -> None:
        from wyoming.server import AsyncEventHandler, AsyncTcpServer

        sat = self

        class Handler(AsyncEventHandler):
            async def handle_event(self, event) -> bool:
                from wyoming.info import Attribution, Info, Satellite

                if event.type == "describe":
                    await self.write_event(Info(satellite=Satellite(
                        name="bench", attribution=Attribution(name="", url=""), installed=True,
                        description="bench", version=None)).event())
                elif event.type == "run-satellite":
                    sat.task = asyncio.create_task(sat.run(self))
                    sat.task.add_done_callback(lambda t: t.cancelled() or t.exception() is None
                                               or print("satellite failed:", repr(t.exception())))
                else:
                    sat.inbox.put_nowait((time.perf_counter(), event))
                return True

        self.inbox: asyncio.Queue = asyncio.Queue()
        server = AsyncTcpServer("127.0.0.1", port)
        await server.start(Handler)

    async def run(self, handler) -> None:
        from wyoming.audio import AudioChunk
        from wyoming.pipeline import PipelineStage, RunPipeline

        step = 1024 * 2
        for _ in range(self.trials):
            while not self.inbox.empty():
                self.inbox.get_nowait()
            await handler.write_event(RunPipeline(start_stage=PipelineStage.ASR,
                                                  end_stage=PipelineStage.TTS).event())
            t_start = time.perf_counter()
            sent = 0
            audio_end = None
            got_start = got_chunk = None
            stopped = False
            while got_chunk is None:
                k = sent * step
                data = self.speech[k:k + step] if k < len(self.speech) else bytes(step)
                await handler.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                     audio=data.ljust(step, b"\0")).event())
                if k < len(self.speech) <= k + step:
                    audio_end = time.perf_counter()
                sent += 1
                while not self.inbox.empty():
                    t, ev = self.inbox.get_nowait()
                    if ev.type == "audio-start" and got_start is None:
                        got_start = t
                    if ev.type == "audio-chunk" and got_chunk is None:
                        got_chunk = t
                    stopped = stopped or ev.type == "audio-stop"
                await asyncio.sleep(max(0.0, t_start + sent * 0.064 - time.perf_counter()))
                if time.perf_counter() - t_start > 30:
                    raise SystemExit("no reply from the daemon within 30 s")
            self.start_ms.append((got_start - audio_end) * 1000)
            self.chunk_ms.append((got_chunk - audio_end) * 1000)
            while not stopped:  # until the reply's audio-stop
                _, ev = await self.inbox.get()
                stopped = ev.type == "audio-stop"
            await asyncio.sleep(0.5)
        self.done.set()


def flite_pcm(text: str, folder: Path) -> bytes:
    raw, wav = folder / "s.raw.wav", folder / "s.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(raw)], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed",
                    str(wav)], check=True)
    from assistant.speech.audio import load_wav

    return load_wav(wav)


async def satellite_latencies(folder: Path, trials: int) -> FakeSatellite:
    sat_port, port = free_port(), free_port()
    sat = FakeSatellite(flite_pcm("set a timer for ten minutes", folder), trials)
    await sat.serve(sat_port)
    proc = await asyncio.to_thread(start_daemon, folder / "sat", port,
                                   [f"tcp://127.0.0.1:{sat_port}#bench"])
    try:
        await asyncio.wait_for(sat.done.wait(), 60 + 20 * trials)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    return sat


def idle_cpu(folder: Path, seconds: float) -> dict | None:
    import psutil

    from tests.fixtures.wyoming import SATELLITE_PYTHON, SatelliteProcess

    if not SATELLITE_PYTHON.exists():
        return None
    sat_port, port = free_port(), free_port()
    sat = SatelliteProcess(folder / "idle-sat", sat_port)
    proc = start_daemon(folder / "idle", port, [f"tcp://127.0.0.1:{sat_port}#idle"])
    try:
        time.sleep(5)  # connected, engines loaded
        p = psutil.Process(proc.pid)
        c0, t0 = p.cpu_times(), time.monotonic()
        time.sleep(seconds)
        c1, t1 = p.cpu_times(), time.monotonic()
        busy = (c1.user - c0.user) + (c1.system - c0.system)
        return {"seconds": round(t1 - t0, 1), "cpu_percent_of_one_core":
                round(100 * busy / (t1 - t0), 1), "rss_mb": round(p.memory_info().rss / 2**20)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        sat.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--idle-s", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--folder", help="keep the daemons' state and logs here (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        port = free_port()
        proc = start_daemon(folder / "handle", port, [])
        try:
            asyncio.run(handled_latencies(port, 10))  # warm-up
            lat, kinds = asyncio.run(handled_latencies(port, args.n))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        sat = asyncio.run(satellite_latencies(folder, args.trials))
        idle = idle_cpu(folder, args.idle_s)
    result = {
        "transcript_to_handled_ms": {"n": len(lat), "p50": pct(lat, 0.5), "p90": pct(lat, 0.9),
                                     "p99": pct(lat, 0.99), "mean": round(statistics.mean(lat), 2),
                                     "answers": kinds},
        "satellite_audio_end_to_reply_ms": {
            "trials": len(sat.start_ms),
            "audio_start_p50": pct(sat.start_ms, 0.5), "audio_start_max": round(max(sat.start_ms), 1),
            "first_chunk_p50": pct(sat.chunk_ms, 0.5), "first_chunk_max": round(max(sat.chunk_ms), 1),
        },
        "streaming_satellite_idle": idle,
    }
    if args.json:
        print(json.dumps(result))
    else:
        h, s = result["transcript_to_handled_ms"], result["satellite_audio_end_to_reply_ms"]
        print(f"Transcript -> Handled over Wyoming (n={h['n']}, new connection each, {kinds}): "
              f"p50 {h['p50']} ms, p90 {h['p90']} ms, p99 {h['p99']} ms")
        print(f"Satellite audio end -> reply audio-start (n={s['trials']}): p50 "
              f"{s['audio_start_p50']} ms (max {s['audio_start_max']}); first audio-chunk p50 "
              f"{s['first_chunk_p50']} ms (max {s['first_chunk_max']})")
        if idle:
            print(f"Daemon with one satellite streaming silence: {idle['cpu_percent_of_one_core']} "
                  f"% of one core over {idle['seconds']} s, RSS {idle['rss_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
