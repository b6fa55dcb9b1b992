"""Intent accuracy of the exported models on real requests: int8 vs fp32 side by side.

Prints overall and in-scope accuracy, out-of-scope recall and false-rejection rate,
per-intent precision/recall/F1 and the worst confusion pairs, for each variant, on
/work/shared/data/intents_dev.jsonl (or --data). Rows that appear verbatim among our
expanded training sentences are also reported separately ("unseen" = the rest), so the
figure is not flattered by overlap.

    .venv/bin/python bench/nlu_accuracy.py [--variants l6-int8 l6-fp32] [--data FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant import config
from assistant.nlu.recognizer import OOS

DEFAULT_DATA = Path("/work/shared/data/intents_dev.jsonl")


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(gold: list[str], pred: list[str]) -> dict:
    ins = [i for i, g in enumerate(gold) if g != OOS]
    oos = [i for i, g in enumerate(gold) if g == OOS]
    n = max(1, len(gold))
    out = {
        "rows": len(gold),
        "accuracy": sum(g == p for g, p in zip(gold, pred)) / n,
        "in_scope_acc": sum(gold[i] == pred[i] for i in ins) / max(1, len(ins)),
        "oos_recall": sum(pred[i] == OOS for i in oos) / max(1, len(oos)),
        "false_rejection": sum(pred[i] == OOS for i in ins) / max(1, len(ins)),
    }
    per = {}
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label and g != label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        per[label] = {"p": pr, "r": rc, "f1": 2 * pr * rc / (pr + rc) if pr + rc else 0.0,
                      "n": tp + fn}
    out["per_intent"] = per
    out["confusions"] = Counter((g, p) for g, p in zip(gold, pred) if g != p).most_common(10)
    return out


def run_variant(variant: str, model_dir: Path, texts: list[str], cache: Path) -> list[str]:
    from assistant.nlu.parser import Parser

    cfg = config.from_dict({"nlu": {"model_dir": str(model_dir), "variant": variant,
                                    "threads": 1, "cache_dir": str(cache)},
                            "storage": {"path": str(cache / "x.db")}})
    parser = Parser(cfg)
    return [parser.classify(t)[0] for t in texts]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=["l6-int8", "l6-fp32"])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    from assistant.nlu.training import training_rows

    rows = load_rows(args.data)
    texts = [r["text"] for r in rows]
    gold = [r["intent"] for r in rows]
    seen = {r[0] for r in training_rows(limit=100000)}
    unseen = [i for i, t in enumerate(texts) if t.lower().strip() not in seen]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in args.variants:
            pred = run_variant(v, args.model_dir, texts, Path(tmp) / v)
            results[v] = {"all": scores(gold, pred),
                          "unseen": scores([gold[i] for i in unseen], [pred[i] for i in unseen])}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    vs = args.variants
    print(f"data: {args.data} ({len(rows)} rows; {len(unseen)} not verbatim in our training sentences)\n")
    print("| metric | " + " | ".join(vs) + " |")
    print("|---|" + "---|" * len(vs))
    for subset in ("all", "unseen"):
        for key in ("rows", "accuracy", "in_scope_acc", "oos_recall", "false_rejection"):
            vals = [results[v][subset][key] for v in vs]
            cells = [str(x) if key == "rows" else f"{x:.3f}" for x in vals]
            print(f"| {subset}: {key} | " + " | ".join(cells) + " |")
    print("\nper intent (all rows): P / R / F1 (n)\n")
    print("| intent | n | " + " | ".join(vs) + " |")
    print("|---|---|" + "---|" * len(vs))
    for label, s in results[vs[0]]["all"]["per_intent"].items():
        cells = []
        for v in vs:
            q = results[v]["all"]["per_intent"].get(label, {"p": 0, "r": 0, "f1": 0})
            cells.append(f"{q['p']:.2f} / {q['r']:.2f} / {q['f1']:.2f}")
        print(f"| {label} | {s['n']} | " + " | ".join(cells) + " |")
    for v in vs:
        print(f"\nworst confusions, {v} (gold -> predicted: count)")
        for (g, p), c in results[v]["all"]["confusions"]:
            print(f"  {g:>16} -> {p:<16} {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
