"""One row per exported intent-model variant: size, speed, memory and accuracy together.

For every variant folder under models/ (or --variants): parameter count (elements of the
ONNX initializers), size on disk (whole variant folder), p50/p99 of one `Parser.parse` on
one thread and the peak RSS of a process that loads and parses (a subprocess per variant,
bench/nlu_speed.py's child), and in-scope accuracy / OOS recall on
/work/shared/data/intents_dev.jsonl with bench/nlu_accuracy.py's evaluation.

    .venv/bin/python bench/model_variants.py [--variants l6-int8 l3-int8] [--calls 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import nlu_accuracy  # noqa: E402  (bench/ sibling: the evaluation code is reused, not copied)
import nlu_speed  # noqa: E402

KEYS = ("variant", "params", "size_mb", "p50_ms", "p99_ms", "rss_mb", "in_scope_acc",
        "oos_recall")


def exported_variants(model_dir: Path) -> list[str]:
    """Variant folders that hold a manifest (hidden build/cache folders are skipped)."""
    return sorted(p.name for p in model_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists())


def param_count(onnx_path: Path) -> int:
    """Elements in the graph's initializers (int8 weights count one each, like fp32)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    total = 0
    for init in model.graph.initializer:
        total += int(numpy_helper.to_array(init).size)
    return total


def measure(variant: str, model_dir: Path, rows: list[dict], calls: int, tmp: Path) -> dict:
    """All figures for one variant; speed and RSS come from a fresh subprocess."""
    folder = model_dir / variant
    cfg = nlu_speed.write_config(tmp, variant, model_dir.resolve())
    speed = nlu_speed.latency(cfg, calls)
    texts = [r["text"] for r in rows]
    gold = [r["intent"] for r in rows]
    pred = nlu_accuracy.run_variant(variant, model_dir, texts, tmp / f"acc-{variant}")
    acc = nlu_accuracy.scores(gold, pred)
    return {"variant": variant, "params": param_count(folder / "model.onnx"),
            "size_mb": round(sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6, 1),
            "model_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1),
            "p50_ms": round(speed["p50_ms"], 2), "p99_ms": round(speed["p99_ms"], 2),
            "classify_p50_ms": round(speed["classify_p50_ms"], 2),
            "encode_p50_ms": round(speed["encode_p50_ms"], 2),
            "encode_p99_ms": round(speed["encode_p99_ms"], 2),
            "rss_mb": round(speed["rss_mb"], 0),
            "in_scope_acc": round(acc["in_scope_acc"], 3), "oos_recall": round(acc["oos_recall"], 3)}


def table(rows: list[dict]) -> str:
    head = ["variant", "params (M)", "folder MB", "model.onnx MB", "parse p50 ms", "p99 ms",
            "classify p50 ms", "encoder p50 ms", "encoder p99 ms", "peak RSS MB", "in-scope acc", "OOS recall"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append(f"| {r['variant']} | {r['params'] / 1e6:.1f} | {r['size_mb']:.1f} | "
                   f"{r['model_mb']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                   f"{r['classify_p50_ms']:.2f} | {r['encode_p50_ms']:.2f} | "
                   f"{r['encode_p99_ms']:.2f} | {r['rss_mb']:.0f} | {r['in_scope_acc']:.3f} | "
                   f"{r['oos_recall']:.3f} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", help="default: every exported variant")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--data", type=Path, default=nlu_accuracy.DEFAULT_DATA)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--json", action="store_true", help="print a JSON list of objects")
    args = ap.parse_args()
    variants = args.variants or exported_variants(args.model_dir)
    if not variants:
        print(f"no exported variants under {args.model_dir}; run `assistant model export`",
              file=sys.stderr)
        return 1
    rows = nlu_accuracy.load_rows(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(v, args.model_dir, rows, args.calls, Path(tmp)) for v in variants]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"data: {args.data} ({len(rows)} rows); 1 intra-op thread, {args.calls} parses "
              "after warm-up; size = whole variant folder\n")
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
