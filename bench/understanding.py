"""Household requests per category of ../shared/notes/understanding-gaps.md (issue 13).

Runs tests/cases/understanding_cases.txt through the real code: for each category, how
many cases get every slot expectation right with the intent given (`slots`), how many the
model classifies as the case's intent (`intent`, needs an exported model; skipped with
--no-model), and both together (`full`). Point PYTHONPATH at another checkout to measure
an older commit with the same cases:

    .venv/bin/python bench/understanding.py [--cases FILE] [--no-model] [--json]
    PYTHONPATH=/tmp/old .venv/bin/python bench/understanding.py --model-dir models
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # after PYTHONPATH: an older checkout's `assistant` wins
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

_spec = importlib.util.spec_from_file_location("understanding_cases", ROOT / "tests" / "test_understanding.py")
assert _spec and _spec.loader
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES, check, load_cases = _cases.CASES, _cases.check, _cases.load_cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--variant", default="l6-int8")
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = load_cases(args.cases)
    parser = None
    if not args.no_model:
        from assistant import config
        from assistant.nlu.parser import Parser

        tmp = Path(tempfile.mkdtemp())
        cfg = config.from_dict({"nlu": {"model_dir": str(args.model_dir.resolve()), "variant": args.variant,
                                        "threads": 1, "cache_dir": str(tmp)},
                                "storage": {"path": str(tmp / "a.db")}})
        parser = Parser(cfg)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "slots": 0, "intent": 0, "full": 0})
    for case in cases:
        try:
            slots_ok = not check(case)
        except (AttributeError, KeyError, TypeError, ValueError):  # an older checkout: the case fails
            slots_ok = False
        intent_ok = True
        if parser is not None:
            zone = ZoneInfo(case["zone"])
            got = parser.parse(case["text"], datetime.fromisoformat(case["now"]), zone)
            intent_ok = got.intent == case["intent"]
        for cat in (case["category"], "ALL"):
            r = rows[cat]
            r["n"] += 1
            r["slots"] += slots_ok
            r["intent"] += intent_ok
            r["full"] += slots_ok and intent_ok
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ["slots", "full"] if parser is None else ["slots", "intent", "full"]
    print(f"{len(cases)} cases from {args.cases.name}" + ("" if parser else " (no model: slots only)"))
    print("| category | n | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for cat in sorted(rows, key=lambda c: (c == "ALL", c)):
        r = rows[cat]
        print(f"| {cat} | {r['n']} | " + " | ".join(f"{r[c]}/{r['n']}" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
