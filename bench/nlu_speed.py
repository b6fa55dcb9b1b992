"""Speed, memory and size of the intent model: int8 vs fp32 in the same run.

For each variant: p50/p99 latency of one `Parser.parse` (classification + slots) on one
thread, throughput of `assistant parse --jsonl` (whole process, load included, and after
load), peak RSS of a process that loads the model and parses, and the size on disk.

    .venv/bin/python bench/nlu_speed.py [--variants l6-int8 l6-fp32] [--calls 300] [--lines 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "remind me to water the plants at six",
    "set a timer for ten minutes",
    "what time is it",
    "set an alarm for seven thirty tomorrow morning",
    "cancel my reminder to call the dentist",
    "what's on my calendar tomorrow",
    "how much time is left on the pasta timer",
    "schedule a meeting with john on friday at three pm",
    "what's the weather like in paris",
    "remind me every tuesday at seven pm to put the bins out",
]

CHILD = r"""
import json, resource, statistics, sys, time
sys.path.insert(0, {root!r})
from assistant import config
from assistant.nlu.parser import Parser
t0 = time.perf_counter()
p = Parser(config.load({cfg!r}))
load_s = time.perf_counter() - t0
sents = {sents!r}
for s in sents * 2:
    p.parse(s)
lat = []
for i in range({calls}):
    s = sents[i % len(sents)]
    t = time.perf_counter(); p.parse(s); lat.append((time.perf_counter() - t) * 1000)
lat.sort()
cls = []
for i in range({calls}):
    s = sents[i % len(sents)]
    t = time.perf_counter(); p.classify(s); cls.append((time.perf_counter() - t) * 1000)
cls.sort()
enc = []
for i in range({calls}):
    s = sents[i % len(sents)]
    t = time.perf_counter(); p.recognizer.encoder.embed([s], batch_size=1)
    enc.append((time.perf_counter() - t) * 1000)
enc.sort()
q = lambda xs, f: xs[min(len(xs) - 1, int(f * len(xs)))]
print(json.dumps({{"load_s": load_s, "p50_ms": q(lat, .5), "p99_ms": q(lat, .99),
    "classify_p50_ms": q(cls, .5), "classify_p99_ms": q(cls, .99),
    "encode_p50_ms": q(enc, .5), "encode_p99_ms": q(enc, .99),
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def write_config(folder: Path, variant: str, model_dir: Path) -> Path:
    cfg = folder / f"{variant}.toml"
    cfg.write_text(f'[nlu]\nmodel_dir = "{model_dir}"\nvariant = "{variant}"\nthreads = 1\n'
                   f'cache_dir = "{folder / "cache"}"\n[storage]\npath = "{folder / "a.db"}"\n'
                   '[time]\ntimezone = "Europe/Berlin"\n')
    return cfg


def latency(cfg: Path, calls: int) -> dict:
    code = CHILD.format(root=str(ROOT), cfg=str(cfg), sents=SENTENCES, calls=calls)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def jsonl(cfg: Path, lines: int) -> dict:
    data = "\n".join(SENTENCES[i % len(SENTENCES)] + f" {'please' if i % 3 == 0 else ''}"
                     for i in range(lines)) + "\n"
    cmd = [sys.executable, "-m", "assistant", "parse", "--jsonl", "--config", str(cfg),
           "--now", "2026-03-27T12:00:00"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # a one-line run measures start-up, so the steady rate can be separated from loading
    t = time.perf_counter()
    subprocess.run(cmd, input="what time is it\n", capture_output=True, text=True, check=True,
                   env=env, cwd=ROOT)
    startup = time.perf_counter() - t
    t = time.perf_counter()
    out = subprocess.run(cmd, input=data, capture_output=True, text=True, check=True, env=env,
                         cwd=ROOT)
    wall = time.perf_counter() - t
    got = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(got) == lines and all("intent" in g for g in got), "parse --jsonl lost lines"
    return {"utt_per_s": lines / wall, "steady_utt_per_s": (lines - 1) / max(1e-9, wall - startup),
            "startup_s": startup}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=["l6-int8", "l6-fp32"])
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in args.variants:
            cfg = write_config(Path(tmp), v, args.model_dir.resolve())
            r = latency(cfg, args.calls)
            r.update(jsonl(cfg, args.lines))
            folder = args.model_dir / v
            r["model_mb"] = (folder / "model.onnx").stat().st_size / 1e6
            r["folder_mb"] = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            rows[v] = r
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    vs = args.variants
    print(f"{os.cpu_count()} CPUs; 1 intra-op thread; {args.calls} parses after warm-up; "
          f"{args.lines} lines through `assistant parse --jsonl`\n")
    print("| metric | " + " | ".join(vs) + " |")
    print("|---|" + "---|" * len(vs))
    fmt = [("p50_ms", "parse p50 (ms)", "{:.2f}"), ("p99_ms", "parse p99 (ms)", "{:.2f}"),
           ("classify_p50_ms", "classify only p50 (ms)", "{:.2f}"),
           ("classify_p99_ms", "classify only p99 (ms)", "{:.2f}"),
           ("utt_per_s", "parse --jsonl utt/s (incl. start-up)", "{:.0f}"),
           ("steady_utt_per_s", "parse --jsonl utt/s (after start-up)", "{:.0f}"),
           ("startup_s", "parse process start-up (s)", "{:.2f}"),
           ("load_s", "Parser() load (s)", "{:.2f}"),
           ("rss_mb", "peak RSS, load + parse (MB)", "{:.0f}"),
           ("model_mb", "model.onnx (MB)", "{:.1f}"), ("folder_mb", "variant folder (MB)", "{:.1f}")]
    for key, label, f in fmt:
        print(f"| {label} | " + " | ".join(f.format(rows[v][key]) for v in vs) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
