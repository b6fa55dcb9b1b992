"""Several daemons on one PostgreSQL store: throughput, lateness, failover (issue 19).

Starts its own PostgreSQL cluster (initdb/pg_ctl in a temp folder, as tests/fixtures/postgres.py)
and Mosquitto (`set_tcp_nodelay true`), then real `assistant run` daemons in one MQTT 5
shared-subscription group, and measures from an MQTT client:
  1. per-request latency, one command at a time (closed loop), SQLite vs PostgreSQL;
  2. commands/s: a burst of --burst writing commands ("remind me in 3 hours to ...") over
     20 sites, time until the last reply, with 1, 2, 3 daemons (and 1 on SQLite);
  3. fire lateness: --fires reminders due within 2 s, p50/p99 of the events' late_s;
  4. failover (3 daemons): commands at 20/s, one daemon SIGKILLed; how long commands sent
     after the kill wait, how many the dead daemon held, and how long after its restart
     those were answered.
Every phase checks each command got exactly one reply.

    .venv/bin/python bench/multi.py [--burst 300] [--fires 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from assistant.store.db import Item, Store
from assistant.store.pg import PgStore
from tests.fixtures.broker import Broker
from tests.fixtures.daemon import write_config
from tests.fixtures.postgres import PgCluster, start_cluster

SITES = [f"room{n:02d}" for n in range(20)]


class Probe:
    """Sends commands with ids; records each reply's and event's arrival."""

    def __init__(self, port: int) -> None:
        self.q: queue.Queue[tuple[float, str, dict]] = queue.Queue()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}",
                             protocol=mqtt.MQTTv5)
        self.c.on_message = lambda c, u, m: self.q.put((time.monotonic(), m.topic,
                                                        json.loads(m.payload)))
        ready = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: (c.subscribe(
            [("assistant/+/reply", 1), ("assistant/+/event", 1)]), ready.set())
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        ready.wait(10)
        time.sleep(0.3)

    def send(self, site: str, text: str, id_: str) -> float:
        t = time.monotonic()
        self.c.publish(f"assistant/{site}/command", json.dumps({"text": text, "id": id_}), qos=1)
        return t

    def collect(self, until: callable, timeout: float) -> list[tuple[float, str, dict]]:
        out: list[tuple[float, str, dict]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(out):
            try:
                out.append(self.q.get(timeout=0.2))
            except queue.Empty:
                pass
        return out


class Daemons:
    def __init__(self, folder: Path, broker: Broker, url: str) -> None:
        self.folder, self.broker, self.url = folder, broker, url
        self.session_expiry_s = 86400
        self.procs: dict[int, subprocess.Popen] = {}
        self.configs: dict[int, Path] = {}

    def start(self, i: int) -> float:
        if i not in self.configs:
            f = self.folder / f"d{i}"
            f.mkdir(parents=True, exist_ok=True)
            storage = {"url": self.url} if self.url.startswith("postgresql") else {"path": self.url}
            self.configs[i] = write_config(
                f, mqtt={"host": "127.0.0.1", "port": self.broker.port, "discovery": False,
                         "client_id": f"assistant-bench-{i}", "shared_group": "assistant",
                         "rate_limit_per_s": 10000.0, "rate_burst": 10000,
                         "session_expiry_s": self.session_expiry_s},
                storage=storage, log={"level": "WARNING"})
        sock_path = self.folder / f"notify-{i}-{time.monotonic_ns()}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "PYTHONUNBUFFERED": "1"}
        env.pop("ASSISTANT_CONFIG", None)
        t0 = time.monotonic()
        log = open(self.folder / f"daemon-{i}.log", "ab")  # noqa: SIM115 - the child's stdout
        self.procs[i] = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config",
                                          str(self.configs[i])], cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        sock.settimeout(240)
        while b"READY=1" not in sock.recv(4096):
            pass
        sock.close()
        return time.monotonic() - t0

    def handled_ms(self, i: int) -> dict:
        """The daemon's own request latency (parse + store + reply built), from status.json."""
        time.sleep(5.5)  # written every 5 s
        st = json.loads((self.folder / f"d{i}" / "state" / "status.json").read_text())
        return {"p50_ms": st.get("latency_ms_p50"), "p95_ms": st.get("latency_ms_p95")}

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def closed_loop(probe: Probe, n: int, tag: str) -> dict:
    lat = []
    for k in range(n):
        id_ = f"{tag}-cl-{k}"
        t = probe.send(SITES[k % 20], f"remind me in 3 hours to water plant {tag} {k}", id_)
        got = probe.collect(lambda o, id_=id_: any(r[2].get("id") == id_ for r in o), 30)
        lat.append((got[-1][0] - t) * 1000)
    return {"p50_ms": round(statistics.median(lat), 1), "p90_ms": round(pct(lat, 0.9), 1)}


def burst(probe: Probe, n: int, tag: str) -> dict:
    t0 = time.monotonic()
    for k in range(n):
        probe.send(SITES[k % 20], f"remind me in 3 hours to check box {tag} {k}", f"{tag}-b-{k}")
    got = probe.collect(lambda o: sum(1 for r in o if r[1].endswith("/reply")) >= n, 300)
    ids = [r[2]["id"] for r in got if r[1].endswith("/reply")]
    dt = got[-1][0] - t0 if got else float("nan")
    return {"n": n, "replies": len(ids), "unique": len(set(ids)), "seconds": round(dt, 2),
            "per_s": round(len(set(ids)) / dt, 1)}


def fires(probe: Probe, store: Store, n: int, tag: str) -> dict:
    now = time.time()
    # Due beyond the daemons' sweep (15 s on SQLite) so that the measure is the firing, not
    # how soon a daemon notices an item another process added.
    due = {store.add(Item(kind="reminder", due_ts=now + 20 + 2 * k / n, zone="UTC",
                          subject=f"{tag} {k}", site=SITES[k % 20])).id for k in range(n)}
    got = probe.collect(lambda o: due <= {r[2].get("id") for r in o if r[1].endswith("/event")},
                        90)
    late = [r[2]["late_s"] for r in got if r[1].endswith("/event") and r[2].get("id") in due]
    fired = {r[2]["id"] for r in got if r[1].endswith("/event")} & due
    return {"n": n, "announced": len(fired), "events": len(late),
            "late_p50_ms": round(pct(late, 0.5) * 1000, 1),
            "late_p99_ms": round(pct(late, 0.99) * 1000, 1)}


def failover(probe: Probe, daemons: Daemons) -> dict:
    """Commands at 20/s over 20 sites; daemon 0 SIGKILLed after 3 s, restarted after 10 s."""
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    stop = threading.Event()

    def sender() -> None:
        k = 0
        while not stop.is_set():
            id_ = f"fo-{k}"
            sent[id_] = probe.send(SITES[k % 20], "what time is it", id_)
            k += 1
            time.sleep(0.05)

    th = threading.Thread(target=sender)
    th.start()
    t0 = time.monotonic()

    def take(timeout: float) -> None:
        for t, topic, body in probe.collect(lambda o: False, timeout):
            if topic.endswith("/reply"):
                answered.setdefault(body["id"], t)

    take(3)
    t_kill = time.monotonic()
    daemons.kill(0)
    take(10)
    stop.set()
    th.join()
    take(3)
    held = [i for i in sent if i not in answered]
    t_restart = time.monotonic()
    daemons.start(0)
    take(20)
    after_kill = [answered[i] - sent[i] for i in sent if i in answered
                  and sent[i] > t_kill and answered[i] < t_restart]
    late_held = [answered[i] - t_restart for i in held if i in answered]
    return {"sent": len(sent), "answered": len(answered),
            "held_by_dead_daemon": len(held),
            "after_kill_max_wait_ms": round(max(after_kill) * 1000, 1) if after_kill else None,
            "after_kill_p50_ms": round(statistics.median(after_kill) * 1000, 1) if after_kill else None,
            "held_answered_s_after_restart_started": round(max(late_held), 2) if late_held else None,
            "run_s": round(time.monotonic() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=300)
    ap.add_argument("--fires", type=int, default=200)
    ap.add_argument("--closed", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", default="", help="e.g. postgresql3 (default: every run)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-multi-"))
    pg_folder = Path(tempfile.mkdtemp(prefix="bench-multi-pg-"))  # the server's user must reach it
    cluster: PgCluster = start_cluster(pg_folder)
    broker = Broker(folder=tmp / "broker", extra=["set_tcp_nodelay true"]).start()
    probe = Probe(broker.port)
    results: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    try:
        runs = [("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3)]
        if args.only:
            runs = [r for r in runs if f"{r[0]}{r[1]}" in args.only.split(",")]
        for backend, n in runs:
            tag = f"{backend}{n}"
            url = (cluster.create_database() if backend == "postgresql"
                   else str(tmp / tag / "d0" / "state" / "assistant.db"))  # status.json beside it
            daemons = Daemons(tmp / tag, broker, url)
            starts = [daemons.start(i) for i in range(n)]
            time.sleep(1.0)
            store = PgStore(url) if backend == "postgresql" else Store(url)
            row = {"start_s": [round(s, 1) for s in starts],
                   "closed_loop": closed_loop(probe, args.closed, tag),
                   "in_daemon": daemons.handled_ms(0),
                   "burst": burst(probe, args.burst, tag),
                   "fires": fires(probe, store, args.fires, tag)}
            if backend == "postgresql" and n == 3:
                row["failover"] = failover(probe, daemons)
                daemons.stop_all()
                daemons.session_expiry_s = 0  # clean sessions: the broker forgets a dead member
                daemons.configs.clear()
                for i in range(n):
                    daemons.start(i)
                time.sleep(1.0)
                row["failover_session_expiry_0"] = failover(probe, daemons)
            results[tag] = row
            print(tag, json.dumps(row), flush=True)
            store.close()
            daemons.stop_all()
        results["load_after"] = os.getloadavg()
    finally:
        broker.stop()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pg_folder, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"load average before {results['load_before']}, after {results.get('load_after')}")


if __name__ == "__main__":
    main()
