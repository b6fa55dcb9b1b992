"""Export-time extras next to the model: the calibrated threshold, the fitted head and
the embeddings of the training sentences.

Why: embedding ~10k example sentences and fitting the head takes a minute on a small
CPU. Doing it once at export means the daemon starts in well under a second with the
stock skills, and with a changed or added sentence file only the new sentences are
embedded (the rest come from `embeddings.npz`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from assistant.nlu.embedder import Embedder
from assistant.nlu.recognizer import OOS, Recognizer, SoftmaxHead, calibrate_threshold
from assistant.nlu.training import is_held_out, training_rows


def build_artifacts(folder: Path, known: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Measure on held-out template lines, calibrate, then fit on everything; write
    head.npz and embeddings.npz into `folder`. Returns the figures for the manifest.
    `known`: embeddings already computed with this very model (only the rest are embedded)."""
    from assistant.nlu.parser import HEAD_FILE, SEED_FILE, rows_digest

    folder = Path(folder)
    emb = Embedder(folder, threads=max(1, min(2, os.cpu_count() or 1)))
    rows = training_rows()
    # int8 models quantize activations per call with one scale for the whole batch, so a
    # padded batch embeds slightly differently from a single request (cosine down to 0.96).
    # Embed the training sentences one at a time, exactly as requests are embedded.
    quantized = "QInt8" in _op_types(folder / "model.onnx") or "int8" in folder.name
    known = known or {}
    todo = [r[0] for r in rows if r[0] not in known]
    fresh = dict(zip(todo, emb.embed(todo, batch_size=1 if quantized else 64))) if todo else {}
    X = np.stack([known[r[0]] if r[0] in known else fresh[r[0]] for r in rows]).astype(np.float32)
    labels = [r[1] for r in rows]
    held = np.array([is_held_out(r[2]) for r in rows])
    quality = measure(X[~held], [l for l, h in zip(labels, held) if not h],
                      X[held], [l for l, h in zip(labels, held) if h])
    head = SoftmaxHead.fit(X, labels)
    digest = rows_digest([(r[0], r[1]) for r in rows])
    np.savez(folder / HEAD_FILE, labels=np.array(head.labels, dtype=str), W=head.W, b=head.b,
             digest=np.array(digest))
    vecs, scale = int8_rows(X)
    np.savez_compressed(folder / SEED_FILE, texts=np.array([r[0] for r in rows], dtype=str),
                        vecs=vecs, scale=scale)
    quality["train_sentences"] = len(rows)
    return quality


def refit_head(model_dir: Path, variant: str) -> dict[str, Any]:
    """Re-fit the head and the seed embeddings of an exported variant on the current skills'
    sentences, keeping its ONNX model: what adding a skill costs (seconds, not an export).
    Sentences embedded before are reused; the manifest is rewritten with the new hashes."""
    import time

    from assistant.nlu.manifest import file_entry, verify_model, write_manifest
    from assistant.nlu.parser import SEED_FILE, seed_vectors

    manifest = verify_model(model_dir, variant)
    folder = Path(model_dir) / variant
    t0 = time.monotonic()
    known = seed_vectors(folder / SEED_FILE) if (folder / SEED_FILE).exists() else {}
    quality = build_artifacts(folder, known)
    manifest["files"] = {p.name: file_entry(p) for p in sorted(folder.iterdir())
                         if p.is_file() and p.name != "manifest.json"}
    for key in ("accuracy", "oos_recall", "threshold", "measured_on"):
        manifest[key] = quality[key]
    manifest["head_refit_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest["head_refit_seconds"] = round(time.monotonic() - t0, 1)
    write_manifest(folder, manifest)
    verify_model(model_dir, variant)
    return manifest


def int8_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: the seed cache is half of a small variant's folder in float16;
    int8 halves it again at a cosine error below 1e-4, which no head fit notices."""
    scale = np.abs(X).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.round(X / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def _op_types(path: Path) -> str:
    """A cheap hint that a graph is quantized: its op names appear in the file."""
    with open(path, "rb") as fh:
        head = fh.read(4_000_000)
    return "QInt8" if b"DynamicQuantizeLinear" in head or b"MatMulInteger" in head else ""


def measure(Xtr: np.ndarray, ytr: list[str], Xte: np.ndarray, yte: list[str]) -> dict[str, Any]:
    head = SoftmaxHead.fit(Xtr, ytr)
    probs = head.proba(Xte)
    threshold = calibrate_threshold(probs, yte, head.labels)
    rec = Recognizer(None, head, threshold)  # type: ignore[arg-type]
    pred = [p for p, _ in rec.decide(probs)]
    ins = [i for i, l in enumerate(yte) if l != OOS]
    oos = [i for i, l in enumerate(yte) if l == OOS]
    return {
        "accuracy": round(sum(pred[i] == yte[i] for i in ins) / max(1, len(ins)), 4),
        "oos_recall": round(sum(pred[i] == OOS for i in oos) / max(1, len(oos)), 4),
        "threshold": threshold,
        "measured_on": (f"own held-out template lines ({len(ins)} in-scope, {len(oos)} "
                        "out-of-scope sentences), head fitted on the other lines"),
    }


__all__ = ["build_artifacts", "int8_rows", "measure", "refit_head"]
