"""Cost with many pending items, end to end: the real daemon, a real broker, real SQLite.

Usage: python bench/load.py [--pending 10000] [--burst 1000] [--requests 40] [--restore 100000] [--json]

1. commands: the daemon runs with 0, then N pending items (HA discovery on, as shipped);
   a client sends "what time is it" and "remind me to ... in 3 days" over MQTT and times
   each reply (round trip, p50/p95), and the create rate (commands/s, sequential).
2. firing: with N pending, B timers due within the same second are written to the store
   (as `assistant reminders` or another process would); the daemon picks them up and fires
   them; lateness = when the event reached an MQTT subscriber minus the item's due time.
3. restore: `Scheduler.start()` on a store with R pending items (in this process).
Targets (issue 14): command p50 with N pending within 20 % of the empty store; p99
lateness <= 250 ms at the subscriber; R = 100,000 restore <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def fill(path: Path, n: int, start: float, spread_s: float, kind: str | None = None) -> None:
    """Insert n pending items straight into the store (fast, one transaction)."""
    from assistant.store.db import Item, Store

    store = Store(path)
    rnd = random.Random(7)
    kinds = ["reminder", "alarm", "timer", "calendar"]
    rows = []
    for i in range(n):
        k = kind or kinds[i % 4]
        due = start + rnd.random() * spread_s
        rows.append(asdict(Item(kind=k, due_ts=due, zone="Europe/Berlin", subject=f"task {i}",
                                created_ts=time.time(), site="default",
                                duration_s=60 if k == "timer" else None)))
    with store.db.conn:
        store.db["items"].insert_all(rows, pk="id", batch_size=2000)
    store.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1)))] if s else float("nan")


class Run:
    """A broker and a daemon on a store pre-filled with `pending` items."""

    def __init__(self, folder: Path, pending: int) -> None:
        from tests.fixtures.broker import Broker, Probe, free_port
        from tests.fixtures.daemon import write_config

        self.folder = folder
        self.broker = Broker(folder / "broker", port=free_port()).start()
        self.db = folder / "state" / "assistant.db"
        self.db.parent.mkdir(parents=True, exist_ok=True)
        if pending:
            fill(self.db, pending, time.time() + 86400, 30 * 86400)
        self.cfg = write_config(folder, mqtt={**self.broker.mqtt_section(), "discovery": True,
                                              "client_id": "bench-load",
                                              "rate_limit_per_s": 1000.0, "rate_burst": 1000},
                                log={"level": "WARNING"})
        self.probe = Probe(self.broker, "bench-probe", subscribe=[
            "assistant/+/reply", "assistant/+/event", "assistant/status"])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("ASSISTANT_CONFIG", None)
        self.log = open(folder / "daemon.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config",
                                      str(self.cfg)], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online",
                          timeout=120, what="the daemon online")

    def ask(self, text: str, id_: str) -> tuple[dict, float]:
        t0 = time.perf_counter()
        self.probe.publish("assistant/default/command", json.dumps({"text": text, "id": id_}))
        m = self.probe.expect(lambda m: m.topic == "assistant/default/reply"
                              and json.loads(m.payload).get("id") == id_, timeout=60)
        return json.loads(m.payload), (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.probe.close()
        self.broker.stop()
        self.log.close()


def commands(run: Run, n: int) -> dict:
    for i in range(3):  # warm-up
        run.ask("what time is it", f"w{i}")
    query = [run.ask("what time is it", f"q{i}")[1] for i in range(n)]
    t0 = time.perf_counter()
    create = []
    for i in range(n):
        r, ms = run.ask(f"remind me to water plant {i} in 3 days", f"c{i}")
        assert r["ok"], r
        create.append(ms)
    rate = n / (time.perf_counter() - t0)
    return {"query_ms_p50": round(statistics.median(query), 1),
            "query_ms_p95": round(pct(query, 0.95), 1),
            "create_ms_p50": round(statistics.median(create), 1),
            "create_per_s": round(rate, 1)}


def firing(run: Run, burst: int) -> dict:
    due0 = time.time() + 25  # after the daemon's next 15 s sweep has seen the new rows
    from assistant.store.db import Item, Store

    store = Store(run.db)
    rows = [asdict(Item(kind="timer", due_ts=due0 + (i % 100) / 100, zone="Europe/Berlin",
                        label=f"t{i}", duration_s=60, created_ts=time.time(),
                        updated_ts=time.time())) for i in range(burst)]
    with store.db.conn:
        store.db["items"].insert_all(rows, pk="id", batch_size=2000)
    store.close()
    due = {r["id"]: r["due_ts"] for r in rows}
    late: dict[str, float] = {}
    deadline = time.time() + 90
    while len(late) < burst and time.time() < deadline:
        try:
            m = run.probe.messages.get(timeout=1)
        except Exception:
            continue
        now = time.time()
        if m.topic.endswith("/event"):
            ev = json.loads(m.payload)
            if ev["id"] in due and ev["id"] not in late:
                late[ev["id"]] = now - due[ev["id"]]
    values = list(late.values())
    return {"fired": len(late), "of": burst,
            "late_ms_p50": round(statistics.median(values) * 1000, 1) if values else None,
            "late_ms_p99": round(pct(values, 0.99) * 1000, 1) if values else None,
            "late_ms_max": round(max(values) * 1000, 1) if values else None}


def restore(folder: Path, n: int) -> dict:
    from assistant.scheduling.scheduler import Scheduler
    from assistant.store.db import Store

    path = folder / "restore.db"
    fill(path, n, time.time() + 3600, 30 * 86400)
    store = Store(path)
    sched = Scheduler(store, lambda *a: None, 6 * 3600)
    t0 = time.perf_counter()
    counts = sched.start()
    took = time.perf_counter() - t0
    sched.stop()
    store.close()
    return {"items": n, "restore_s": round(took, 3), "scheduled": counts.get("scheduled")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pending", type=int, default=10_000)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--restore", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (0, args.pending):
            run = Run(Path(tmp) / f"p{n}", n)
            try:
                out[f"commands_{n}_pending"] = commands(run, args.requests)
                if n:
                    out[f"firing_{n}_pending"] = firing(run, args.burst)
            finally:
                run.close()
        out["restore"] = restore(Path(tmp), args.restore)
    base, loaded = out["commands_0_pending"], out[f"commands_{args.pending}_pending"]
    out["query_p50_ratio"] = round(loaded["query_ms_p50"] / base["query_ms_p50"], 2)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
