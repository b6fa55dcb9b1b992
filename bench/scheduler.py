"""Scheduler benchmark: restore time and memory for 10,000 items; firing lateness under load.

Usage: python bench/scheduler.py [--items 10000] [--burst 1000] [--json]

1. restore: a real SQLite file with N pending items (reminders, alarms, timers, calendar,
   a tenth of them recurring), then `Scheduler.start()` in a fresh process: wall time and
   RSS above the idle process (VmRSS from /proc).
2. lateness: B items due within the same minute (half of them in the very same second),
   fired by the real scheduler with real time; lateness = when the fire callback ran minus
   the item's fire time, p50/p99/max.
Targets (issue 5): restore <= 2 s, <= 50 MB above idle; p99 lateness <= 250 ms.
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fill(path: Path, n: int, start: float, spread_s: float) -> None:
    from assistant.store.db import Item, Store

    store = Store(path)
    rnd = random.Random(7)
    kinds = ["reminder", "alarm", "timer", "calendar"]
    rows = []
    for i in range(n):
        due = start + rnd.random() * spread_s
        rec = i % 10 == 0
        it = Item(kind=kinds[i % 4], due_ts=due, zone="Europe/Berlin", subject=f"task {i}",
                  rrule="FREQ=DAILY;BYHOUR=7;BYMINUTE=0" if rec else None,
                  dtstart_local="2026-01-01T07:00:00" if rec else None, created_ts=time.time())
        rows.append(it)
    from dataclasses import asdict

    with store.db.conn:
        store.db["items"].insert_all([asdict(r) for r in rows], pk="id", batch_size=1000)
    store.close()


def restore_child(path: str) -> None:
    """Runs in a fresh process so RSS figures are not polluted by the fill step."""
    from assistant.scheduling.scheduler import Scheduler
    from assistant.store.db import Store

    idle = rss_mb()
    store = Store(path)
    t0 = time.perf_counter()
    sched = Scheduler(store, lambda *a: None, missed_after_s=3600)
    counts = sched.start()
    elapsed = time.perf_counter() - t0
    after = rss_mb()
    sched.stop()
    print(json.dumps({"restore_s": round(elapsed, 3), "rss_idle_mb": round(idle, 1),
                      "rss_above_idle_mb": round(after - idle, 1), **counts}))


def restore(n: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.db"
        fill(path, n, time.time() + 3600, 30 * 86400)
        out = subprocess.run([sys.executable, __file__, "--restore-child", str(path)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def lateness(burst: int) -> dict:
    from assistant.scheduling.scheduler import Scheduler
    from assistant.store.db import Item, Store

    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "bench.db")
        lat: list[float] = []
        done = threading.Event()

        def on_fire(item: Item, late_s: float, fired_ts: float) -> None:
            lat.append(time.time() - item.fire_ts)
            if len(lat) >= burst:
                done.set()

        sched = Scheduler(store, on_fire, missed_after_s=3600)
        sched.start()
        base = time.time() + 5
        rnd = random.Random(3)
        for i in range(burst):
            due = base if i % 2 == 0 else base + rnd.random() * 60
            it = Item(kind="reminder", due_ts=due, zone="UTC", subject=f"r{i}")
            store.add(it)
            sched.schedule(it)
        done.wait(90)
        sched.stop()
        store.close()
    lat.sort()
    return {"fired": len(lat), "late_p50_ms": round(statistics.median(lat) * 1000, 1),
            "late_p99_ms": round(lat[int(0.99 * (len(lat) - 1))] * 1000, 1),
            "late_max_ms": round(lat[-1] * 1000, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--restore-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.restore_child:
        restore_child(args.restore_child)
        return
    res = {"items": args.items, **restore(args.items), "burst": args.burst,
           **lateness(args.burst)}
    if args.json:
        print(json.dumps(res))
        return
    print(f"restore {res['items']} pending items: {res['restore_s']} s, "
          f"+{res['rss_above_idle_mb']} MB RSS above idle ({res['rss_idle_mb']} MB idle)")
    print(f"fire {res['burst']} items due in one minute (half in the same second): "
          f"{res['fired']} fired, lateness p50 {res['late_p50_ms']} ms, "
          f"p99 {res['late_p99_ms']} ms, max {res['late_max_ms']} ms")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
