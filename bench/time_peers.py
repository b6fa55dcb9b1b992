"""Our time resolver against the time parsers on PyPI, on ../shared/data/times_dev.jsonl.

Prints accuracy (exact at the gold grain: prediction and gold truncated to day, hour,
minute or second, as the data README says) and per-expression speed (p50, p90) for
dateparser, parsedatetime, ctparse, recognizers-text (if installed) and ours, side by
side; `--json` prints one JSON object instead. Also times our full `extract_slots` per
utterance over intents_dev.jsonl (the <= 1 ms p50 target).

Duration rows ("two minutes", gold in seconds): a peer's answer counts if its parse
gives that length (a Duration object, or a moment that far after the reference time;
peers that need it are also tried with "in " prepended).

    /work/main/.venv/bin/python bench/time_peers.py [--data FILE] [--json] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.skill import load_registry
from assistant.timeparse import TimeParseError, TimeSettings, extract_slots, resolve_expression

DATA = ROOT.parent / "shared" / "data" / "times_dev.jsonl"
INTENTS = ROOT.parent / "shared" / "data" / "intents_dev.jsonl"
CUT = {"day": 10, "hour": 13, "minute": 16, "second": 19}
UTC = ZoneInfo("UTC")

# A peer: (expr, ref naive datetime) -> naive datetime | ("duration", seconds) | None
Peer = Callable[[str, datetime], Any]


def peer_ours() -> Peer:
    settings = TimeSettings(zone=UTC)

    def run(expr: str, ref: datetime) -> Any:
        try:
            v = resolve_expression(expr, ref.replace(tzinfo=UTC), settings)
        except TimeParseError:
            return None
        if v.kind == "duration":
            return ("duration", v.value)
        if v.kind == "datetime":
            return v.value.replace(tzinfo=None)
        return None

    return run


def peer_dateparser() -> Peer:
    import dateparser

    def run(expr: str, ref: datetime) -> Any:
        settings = {"RELATIVE_BASE": ref, "PREFER_DATES_FROM": "future",
                    "RETURN_AS_TIMEZONE_AWARE": False}
        dt = dateparser.parse(expr, settings=settings)
        if dt is None:
            dt = dateparser.parse("in " + expr, settings=settings)
        return dt

    return run


def peer_parsedatetime() -> Peer:
    import parsedatetime

    cal = parsedatetime.Calendar(version=parsedatetime.VERSION_CONTEXT_STYLE)

    def run(expr: str, ref: datetime) -> Any:
        dt, ctx = cal.parseDT(expr, sourceTime=ref)
        return dt if ctx.hasDateOrTime else None

    return run


def peer_ctparse() -> Peer:
    from ctparse import ctparse
    from ctparse.types import Duration, Interval, Time

    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800,
             "months": 30 * 86400, "years": 365 * 86400}

    def to_dt(t: Any, ref: datetime) -> datetime | None:
        if t is None or t.year is None:
            if t is not None and t.hour is not None:
                return ref.replace(hour=t.hour, minute=t.minute or 0, second=0)
            return None
        return datetime(t.year, t.month or 1, t.day or 1, t.hour or 0, t.minute or 0)

    def run(expr: str, ref: datetime) -> Any:
        r = ctparse(expr, ts=ref, timeout=1.0)
        if r is None:
            return None
        res = r.resolution
        if isinstance(res, Duration):
            unit = str(getattr(res.unit, "value", res.unit)).lower()
            secs = res.value * units.get(unit if unit.endswith("s") else unit + "s", 0)
            return ("duration", secs)
        if isinstance(res, Interval):
            return to_dt(res.t_from, ref)
        if isinstance(res, Time):
            return to_dt(res, ref)
        return None

    return run


def peer_recognizers() -> Peer:
    from recognizers_date_time import Culture, recognize_datetime

    def run(expr: str, ref: datetime) -> Any:
        res = recognize_datetime(expr, Culture.English, reference=ref)
        if not res:
            return None
        values = res[0].resolution.get("values", [])
        cands: list[datetime] = []
        for v in values:
            kind = v.get("type", "")
            if kind == "duration" and "value" in v:
                return ("duration", float(v["value"]))
            raw = v.get("value") or v.get("start")
            if not raw:
                continue
            try:
                if kind in ("time", "timerange"):
                    t = datetime.strptime(raw, "%H:%M:%S")
                    cands.append(ref.replace(hour=t.hour, minute=t.minute, second=t.second))
                else:
                    cands.append(datetime.fromisoformat(raw))
            except ValueError:
                continue
        future = [c for c in cands if c >= ref]
        return future[0] if future else (cands[-1] if cands else None)

    return run


PEERS: dict[str, Callable[[], Peer]] = {
    "dateparser": peer_dateparser,
    "parsedatetime": peer_parsedatetime,
    "ctparse": peer_ctparse,
    "recognizers-text": peer_recognizers,
    "ours": peer_ours,
}


def correct(row: dict[str, Any], got: Any) -> bool:
    ref = datetime.fromisoformat(row["ref"])
    if got is None:
        return False
    if row["kind"] == "duration":
        if isinstance(got, tuple):
            secs = got[1]
        else:
            secs = (got - ref).total_seconds()
        return abs(secs - row["seconds"]) < 0.5
    if isinstance(got, tuple):
        got = ref + timedelta(seconds=got[1])
    if not isinstance(got, datetime):
        return False
    n = CUT[row["grain"]]
    return got.replace(tzinfo=None).isoformat()[:n] == row["value"][:n]


def evaluate(name: str, make: Callable[[], Peer], rows: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        run = make()
    except Exception as exc:  # noqa: BLE001 - a peer that is not installed is reported, not fatal
        return {"name": name, "available": False, "why": f"{type(exc).__name__}: {exc}"}
    try:  # warm-up: lazy imports and caches are not per-expression work
        run("tomorrow at 5pm", datetime(2020, 1, 1))
    except Exception:  # noqa: BLE001, S110 - a warm-up failure shows up in the scored run
        pass
    ok = {"datetime": 0, "duration": 0}
    total = {"datetime": 0, "duration": 0}
    times: list[float] = []
    failures: list[str] = []
    for row in rows:
        ref = datetime.fromisoformat(row["ref"])
        t0 = time.perf_counter()
        try:
            got = run(row["expr"], ref)
        except Exception:  # noqa: BLE001 - a peer crashing on a row scores as a miss
            got = None
        times.append((time.perf_counter() - t0) * 1000)
        total[row["kind"]] += 1
        if correct(row, got):
            ok[row["kind"]] += 1
        else:
            failures.append(row["expr"])
    n = len(rows)
    good = ok["datetime"] + ok["duration"]
    return {
        "name": name, "available": True, "n": n, "correct": good, "exact": good / n,
        "datetime": ok["datetime"] / max(1, total["datetime"]),
        "duration": ok["duration"] / max(1, total["duration"]),
        "p50_ms": statistics.median(times),
        "p90_ms": statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0],
        "failures": failures,
    }


def time_extract_slots() -> dict[str, Any] | None:
    """p50/p90 of extract_slots per utterance over intents_dev.jsonl (gold intents)."""
    if not INTENTS.exists():
        return None
    rows = [json.loads(line) for line in INTENTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = TimeSettings(zone=ZoneInfo("Europe/Berlin"))
    now = datetime(2026, 3, 24, 14, 5, tzinfo=settings.zone)
    registry = load_registry()
    extract_slots("remind me tomorrow at 5 to call mom", registry.slot_spec("reminder.create"),
                  now, settings)
    times: list[float] = []
    for row in rows:
        t0 = time.perf_counter()
        extract_slots(row["text"], registry.slot_spec(row["intent"]), now, settings)
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": len(rows), "p50_ms": statistics.median(times),
            "p90_ms": statistics.quantiles(times, n=10)[-1], "max_ms": max(times)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="a times_dev.jsonl-style file")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--only", nargs="*", choices=list(PEERS), help="run only these")
    ap.add_argument("--failures", action="store_true", help="list each peer's misses")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"error: {args.data} not found; pass --data FILE", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    warnings.filterwarnings("ignore")
    logging.getLogger("ctparse").setLevel(logging.ERROR)  # "Failed to produce result" per miss
    results = [evaluate(name, make, rows) for name, make in PEERS.items()
               if not args.only or name in args.only]
    slots = time_extract_slots() if not args.only or "ours" in args.only else None
    if args.json:
        print(json.dumps({"data": str(args.data), "rows": len(rows), "peers": results,
                          "extract_slots": slots}, indent=1))
        return 0
    print(f"{len(rows)} expressions from {args.data.name}; exact at gold grain")
    print(f"{'parser':18} {'exact':>6} {'datetime':>9} {'duration':>9} {'p50 ms':>8} {'p90 ms':>8}")
    for r in results:
        if not r["available"]:
            print(f"{r['name']:18} not available ({r['why']})")
            continue
        print(f"{r['name']:18} {r['exact']:6.3f} {r['datetime']:9.3f} {r['duration']:9.3f} "
              f"{r['p50_ms']:8.3f} {r['p90_ms']:8.3f}")
        if args.failures and r["failures"]:
            print("   misses: " + " | ".join(r["failures"]))
    if slots:
        print(f"ours extract_slots per utterance ({slots['n']} intents_dev texts): "
              f"p50 {slots['p50_ms']:.3f} ms, p90 {slots['p90_ms']:.3f} ms, max {slots['max_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
