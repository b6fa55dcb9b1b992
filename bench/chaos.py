"""SIGKILL chaos over MQTT: commands, fires and restarts at random moments; count what was
lost or done twice.

Usage: python bench/chaos.py [--cycles 100] [--seed 1] [--json]

Each cycle starts the real daemon (real broker, real SQLite, real model), sends a few
commands with unique ids ("remind me to water plant N in S seconds", S of 1-8 s) without
waiting for the replies, and SIGKILLs the daemon after a random 0-4 s: during start-up,
while commands are served, while items fire, or while events are being published. Some
commands are sent twice with the same id. After the last cycle a daemon runs until every
item is due and served. Then, from the SQLite file and what a persistent MQTT subscriber
received:
- actions: every command id created exactly one reminder (lost = none, twice = more);
- replies: every command id was answered, and repeated answers are identical;
- events: every fired reminder's event arrived (lost = none), and no reminder produced
  two different event ids (twice); redeliveries of the same event id are counted apart
  (at-least-once delivery; consumers drop them by `event_id`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def run(cycles: int, seed: int, folder: Path, verbose: bool = False) -> dict:
    from tests.fixtures.broker import Broker, Probe, free_port
    from tests.fixtures.daemon import write_config

    rnd = random.Random(seed)
    broker = Broker(folder / "broker", port=free_port()).start()
    cfg = write_config(folder, mqtt={**broker.mqtt_section(), "discovery": False,
                                     "client_id": "chaos-daemon", "rate_limit_per_s": 1000.0,
                                     "rate_burst": 1000}, log={"level": "INFO"})
    probe = Probe(broker, "chaos-probe", persistent=True,
                  subscribe=["assistant/+/reply", "assistant/+/event", "assistant/status"])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ASSISTANT_CONFIG", None)
    log = open(folder / "daemon.log", "ab")

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    # First start: the daemon's persistent session and subscriptions exist from here on, so
    # commands sent while it is down wait at the broker.
    proc = start()
    probe.expect(lambda m: m.topic == "assistant/status" and m.payload == b"online", timeout=120,
                 what="the daemon online")
    proc.kill()
    proc.wait()
    sent: dict[str, str] = {}  # command id -> plant number
    last_due = time.time()
    n = 0
    t_start = time.time()
    for cycle in range(cycles):
        proc = start()
        time.sleep(rnd.uniform(0.0, 5.0))  # commands may arrive during start-up
        for _ in range(rnd.randint(2, 6)):
            n += 1
            secs = rnd.randint(1, 8)
            cid = f"c{n}"
            sent[cid] = str(n)
            text = json.dumps({"text": f"remind me to water plant {n} in {secs} seconds",
                               "id": cid})
            probe.publish("assistant/default/command", text)
            if rnd.random() < 0.2:  # the same id again: must not act twice
                probe.publish("assistant/default/command", text)
            last_due = max(last_due, time.time() + secs + 30)  # +30: queued while down
        time.sleep(rnd.uniform(0.0, 4.0))
        proc.kill()
        proc.wait()
        if verbose:
            print(f"cycle {cycle + 1}/{cycles}: {len(sent)} commands so far", file=sys.stderr)
    proc = start()
    time.sleep(max(20.0, last_due - time.time()))
    messages = []
    while True:  # everything received until 10 s of silence
        got = probe.drain(10.0)
        messages += got
        if not got:
            break
    proc.terminate()
    proc.wait(10)
    probe.close()
    broker.stop()
    log.close()

    replies: dict[str, list[bytes]] = defaultdict(list)
    events: dict[str, set[str]] = defaultdict(set)
    deliveries = 0
    for m in messages:
        if m.topic.endswith("/reply"):
            replies[json.loads(m.payload).get("id")].append(m.payload)
        elif m.topic.endswith("/event"):
            ev = json.loads(m.payload)
            events[ev["id"]].add(ev["event_id"])
            deliveries += 1
    db = sqlite3.connect(folder / "state" / "assistant.db")
    rows = db.execute("SELECT id, subject, status FROM items WHERE kind = 'reminder'").fetchall()
    by_plant: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item_id, subject, status in rows:
        by_plant[(subject or "").rsplit(" ", 1)[-1]].append((item_id, status))
    actions_lost = sum(1 for p in sent.values() if not by_plant.get(p))
    actions_twice = sum(1 for p in sent.values() if len(by_plant.get(p, [])) > 1)
    unanswered = sum(1 for cid in sent if not replies.get(cid))
    differing = sum(1 for cid in sent if len(set(replies.get(cid, []))) > 1)
    fired = [item_id for item_id, _subject, status in rows if status == "fired"]
    events_lost = sum(1 for item_id in fired if not events.get(item_id))
    events_twice = sum(1 for item_id in fired if len(events.get(item_id, ())) > 1)
    return {
        "cycles": cycles, "commands": len(sent), "reminders": len(rows), "fired": len(fired),
        "not_fired": len(rows) - len(fired),
        "actions_lost": actions_lost, "actions_twice": actions_twice,
        "replies_missing": unanswered, "replies_differing": differing,
        "events_lost": events_lost, "events_twice": events_twice,
        "event_redeliveries": deliveries - sum(len(v) for v in events.values()),
        "wall_s": round(time.time() - t_start, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(args.cycles, args.seed, Path(tmp), args.verbose)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    bad = out["actions_lost"] + out["actions_twice"] + out["replies_missing"] + \
        out["replies_differing"] + out["events_lost"] + out["events_twice"] + out["not_fired"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
