"""The web server under a household's worst realistic load: 1,000 pending items.

Starts the real daemon (`assistant run`, [http] enabled, MQTT and voice off) on a store
pre-filled with 1,000 pending items (reminders, alarms, calendar events, timers, some
weekly), then from this process (a separate client, over loopback):
  1. API latency p50/p99 per endpoint (sequential requests with httpx, keep-alive);
  2. page latency p50/p99 (server time to the full HTML) and, with --browser, page load
     time in headless Chromium (navigation start to the load event, CSS and JS included);
  3. memory added by the HTTP server: the daemon's VmRSS after the load above, minus the
     VmRSS of the same daemon on the same store with [http] disabled (both after start).

    .venv/bin/python bench/web.py [--items 1000] [--requests 200] [--browser] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.store.db import Item, Store

TOKEN = "bench-token-0123456789abcdef"
ZONE = "Europe/Berlin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(db: Path, n: int) -> None:
    """n pending items over the next 30 days, in the shapes the skills store them."""
    rng = random.Random(18)
    store = Store(db)
    now = time.time()
    kinds = ["reminder"] * 40 + ["calendar"] * 30 + ["alarm"] * 20 + ["timer"] * 10
    for i in range(n):
        kind = rng.choice(kinds)
        due = now + (rng.uniform(60, 99 * 3600) if kind == "timer"
                     else rng.uniform(600, 30 * 86400))
        rrule = dtstart = None
        if kind in ("reminder", "alarm") and i % 20 == 0:
            local = datetime.fromtimestamp(due, UTC).astimezone().replace(second=0, microsecond=0)
            rrule = f"FREQ=WEEKLY;BYDAY=MO;BYHOUR={local.hour};BYMINUTE={local.minute}"
            dtstart = local.replace(tzinfo=None).isoformat()
        store.add(Item(kind=kind, due_ts=due, zone=ZONE, subject=f"bench item {i} <&>",
                       label="pasta" if kind == "timer" else None, rrule=rrule,
                       dtstart_local=dtstart, notice_s=900 if kind == "calendar" else 0,
                       duration_s=int(due - now) if kind == "timer" else None,
                       site=rng.choice(["default", "kitchen"])))
    store.close()


def config(folder: Path, http: bool, port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(f"""
[mqtt]
enabled = false
[storage]
path = "{folder / 'state' / 'assistant.db'}"
[time]
timezone = "{ZONE}"
[nlu]
model_dir = "{ROOT / 'models'}"
[speech]
enabled = false
[tts]
engine = "none"
[log]
level = "WARNING"
[http]
enabled = {'true' if http else 'false'}
listen = "127.0.0.1:{port}"
rate_limit_per_s = 100000.0
rate_burst = 100000
""", encoding="utf-8")
    return path


def start(cfg: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_HTTP_TOKEN": TOKEN, "ORT_DISABLE_TELEMETRY": "1"}
    env.pop("NOTIFY_SOCKET", None)
    with open(log, "wb") as f:
        return subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                                cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(proc: subprocess.Popen, log: Path, url: str | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited:\n{log.read_text()}")
        if url:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        elif log.exists() and "status.json" in os.listdir(log.parent / "state"):
            return
        time.sleep(0.1)
    raise SystemExit(f"daemon not ready after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def timed(client: httpx.Client, n: int, method: str, path: str, **kw) -> dict:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.request(method, path, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code < 300, (path, r.status_code, r.text[:200])
    return {"p50_ms": round(pct(times, 0.5), 2), "p99_ms": round(pct(times, 0.99), 2),
            "bytes": len(r.content), "n": n}


def browser_loads(url: str, paths: list[str], n: int) -> dict:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    tmp = tempfile.mkdtemp(prefix="bench-chrome-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", f"--user-data-dir={tmp}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver")))
    out = {}
    try:
        driver.get(url + "/login")
        driver.find_element("id", "token").send_keys(TOKEN)
        driver.find_element("css selector", "form.ask button").click()
        time.sleep(0.5)
        for path in paths:
            times = []
            for _ in range(n):
                driver.get(url + path)
                nav = driver.execute_script(
                    "const e = performance.getEntriesByType('navigation')[0];"
                    "return [e.loadEventEnd, e.responseEnd - e.requestStart];")
                times.append(nav[0])
            out[path] = {"p50_ms": round(pct(times, 0.5), 1), "p99_ms": round(pct(times, 0.99), 1),
                         "n": n}
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--browser", action="store_true", help="also time page loads in Chromium")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    result: dict = {"items": args.items, "machine": f"{os.cpu_count()} cores, {os.uname().machine}"}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        folder = Path(tmp)
        (folder / "state").mkdir()
        fill(folder / "state" / "assistant.db", args.items)

        # Baseline: the same daemon on the same store without the web server.
        proc = start(config(folder, False, free_port()), folder / "off.log")
        try:
            wait_ready(proc, folder / "off.log", None)
            time.sleep(2)
            result["rss_mb_http_off"] = round(rss_mb(proc.pid), 1)
        finally:
            stop(proc)
        (folder / "state" / "status.json").unlink(missing_ok=True)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start(config(folder, True, port), folder / "on.log")
        try:
            wait_ready(proc, folder / "on.log", url)
            time.sleep(2)
            result["rss_mb_http_on_idle"] = round(rss_mb(proc.pid), 1)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
                some = c.get("/api/items", params={"kind": "reminder", "limit": 1}).json()
                item_id = some["items"][0]["id"]
                n = args.requests
                api = {
                    "GET /api/items (1000)": timed(c, n, "GET", "/api/items"),
                    "GET /api/items?kind=timer": timed(c, n, "GET", "/api/items",
                                                       params={"kind": "timer"}),
                    "GET /api/status": timed(c, n, "GET", "/api/status"),
                    "GET /api/shopping_list": timed(c, n, "GET", "/api/shopping_list"),
                    "PATCH /api/items/{id} (rename)": timed(
                        c, n, "PATCH", f"/api/items/{item_id}", json={"subject": "renamed"}),
                    "POST /api/command (what time is it)": timed(
                        c, n, "POST", "/api/command", json={"text": "what time is it"}),
                    "GET /calendar.ics": timed(c, max(20, n // 10), "GET", "/calendar.ics",
                                               params={"token": _feed_token(c)}),
                }
                pages = {p: timed(c, max(20, n // 4), "GET", p)
                         for p in ("/", "/timers", "/calendar", "/shopping", "/status")}
            result["api"] = api
            result["pages_server"] = pages
            if args.browser:
                result["pages_browser"] = browser_loads(url, ["/", "/timers", "/calendar",
                                                              "/status"], 20)
            result["rss_mb_http_on_after_load"] = round(rss_mb(proc.pid), 1)
            result["rss_mb_added"] = round(result["rss_mb_http_on_after_load"]
                                           - result["rss_mb_http_off"], 1)
        finally:
            stop(proc)

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.items} pending items; {result['machine']}")
    print(f"{'request':40s} {'p50 ms':>8s} {'p99 ms':>8s} {'bytes':>9s}")
    for name, r in {**result["api"], **{f"GET {p} (page)": v for p, v in
                                        result["pages_server"].items()}}.items():
        print(f"{name:40s} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['bytes']:9d}")
    for p, r in result.get("pages_browser", {}).items():
        print(f"browser load {p:27s} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}")
    print(f"RSS: http off {result['rss_mb_http_off']} MB, on (idle) "
          f"{result['rss_mb_http_on_idle']} MB, on after load "
          f"{result['rss_mb_http_on_after_load']} MB -> added {result['rss_mb_added']} MB")
    return 0


def _feed_token(c: httpx.Client) -> str:
    import re

    return re.search(r"token=([0-9a-f]+)", c.get("/calendar").text).group(1)


if __name__ == "__main__":
    raise SystemExit(main())
