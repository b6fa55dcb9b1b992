"""Intent recognition from example sentences: embeddings + a softmax head fitted at start.

Why this shape: the encoder (fine-tuned at export) maps a request to a 384-d vector; a
multinomial logistic-regression head over those vectors, fitted in numpy from the skills'
example sentences when the daemon starts, turns it into intent probabilities. Adding a
skill re-fits only this head (seconds), never the encoder. Out-of-scope requests are an
explicit class (trained on negatives) *and* are rejected below a calibrated confidence
threshold, so the assistant never forces a guess.

Embeddings are cached on disk keyed by model sha256 + sentence, and the fitted head by
model sha256 + training data, so a restart embeds nothing it has seen before.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

OOS = "out_of_scope"
# What a damaged or foreign .npz file raises on load.
BAD_NPZ = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class Encoder(Protocol):
    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


class EmbeddingCache:
    """sentence -> embedding, one .npz file per model hash."""

    def __init__(self, folder: Path | None, model_sha: str) -> None:
        self.path = Path(folder) / f"nlu-emb-{model_sha[:16]}.npz" if folder else None
        self.data: dict[str, np.ndarray] = {}
        self.dirty = False
        if self.path and self.path.exists():
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    for t, v in zip(z["texts"].tolist(), z["vecs"]):
                        self.data[t] = v
            except BAD_NPZ:  # a damaged cache is rebuilt, never fatal
                self.data = {}

    def embed(self, encoder: Encoder, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.data]
        if missing:
            vecs = encoder.embed(missing, batch_size=1)  # as requests are embedded
            for t, v in zip(missing, vecs):
                self.data[t] = v
            self.dirty = True
        return np.stack([self.data[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp.npz")
            texts = list(self.data)
            np.savez(tmp, texts=np.array(texts, dtype=str),
                     vecs=np.stack([self.data[t] for t in texts]).astype(np.float32))
            tmp.replace(self.path)
            self.dirty = False
        except OSError:
            pass  # read-only state dir: run without a cache


class SoftmaxHead:
    """Multinomial logistic regression with L2, fitted by full-batch Adam in numpy."""

    def __init__(self, labels: list[str], W: np.ndarray, b: np.ndarray) -> None:
        self.labels = labels
        self.W = W.astype(np.float32)
        self.b = b.astype(np.float32)

    @classmethod
    def fit(cls, X: np.ndarray, y: list[str], l2: float = 1e-4, steps: int = 300,
            lr: float = 0.1, seed: int = 0) -> SoftmaxHead:
        labels = sorted(set(y))
        idx = {l: i for i, l in enumerate(labels)}
        yi = np.array([idx[l] for l in y])
        n, d = X.shape
        k = len(labels)
        counts = np.bincount(yi, minlength=k).astype(np.float64)
        sw = (1.0 / np.sqrt(counts))[yi]  # soften class imbalance
        sw = (sw / sw.sum()).astype(np.float32)
        Y = np.zeros((n, k), np.float32)
        Y[np.arange(n), yi] = 1
        W = np.zeros((d, k), np.float32)
        b = np.zeros(k, np.float32)
        mW, vW, mb, vb = (np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b))
        X = X.astype(np.float32)
        for t in range(1, steps + 1):
            Z = X @ W + b
            Z -= Z.max(axis=1, keepdims=True)
            P = np.exp(Z)
            P /= P.sum(axis=1, keepdims=True)
            G = (P - Y) * sw[:, None]
            gW = X.T @ G + l2 * W
            gb = G.sum(axis=0)
            for p, g, m, v in ((W, gW, mW, vW), (b, gb, mb, vb)):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        return cls(labels, W, b)

    def proba(self, X: np.ndarray) -> np.ndarray:
        Z = X @ self.W + self.b
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, labels=np.array(self.labels, dtype=str), W=self.W, b=self.b)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SoftmaxHead:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["labels"].tolist(), z["W"], z["b"])


class Recognizer:
    """Embeds a request and returns (intent, confidence), with out-of-scope rejection."""

    def __init__(self, encoder: Encoder, head: SoftmaxHead, threshold: float) -> None:
        self.encoder = encoder
        self.head = head
        self.threshold = threshold

    @classmethod
    def build(cls, encoder: Encoder, rows: Iterable[tuple[str, str]], threshold: float,
              cache: EmbeddingCache | None = None, head_cache: Path | None = None
              ) -> Recognizer:
        rows = list(rows)
        texts = [r[0] for r in rows]
        labels = [r[1] for r in rows]
        head = None
        if head_cache is not None and head_cache.exists():
            try:
                head = SoftmaxHead.load(head_cache)
            except BAD_NPZ:
                head = None
        if head is None:
            X = cache.embed(encoder, texts) if cache else encoder.embed(texts)
            if cache:
                cache.save()
            head = SoftmaxHead.fit(X, labels)
            if head_cache is not None:
                try:
                    head.save(head_cache)
                except OSError:
                    pass
        return cls(encoder, head, threshold)

    def scores(self, texts: list[str]) -> np.ndarray:
        return self.head.proba(self.encoder.embed(texts, batch_size=1))

    def decide(self, probs: np.ndarray) -> list[tuple[str, float]]:
        out = []
        for p in probs:
            i = int(p.argmax())
            label, conf = self.head.labels[i], float(p[i])
            if label != OOS and conf < self.threshold:
                label = OOS
            if label == OOS:
                # confidence that it is out of scope: 1 - best in-scope probability
                conf = float(1.0 - max((q for l, q in zip(self.head.labels, p) if l != OOS),
                                       default=0.0))
            out.append((label, conf))
        return out

    def classify(self, text: str) -> tuple[str, float]:
        return self.decide(self.scores([text]))[0]

    def classify_many(self, texts: list[str]) -> list[tuple[str, float]]:
        return self.decide(self.scores(texts)) if texts else []


def head_cache_path(folder: Path | None, model_sha: str, rows: list[tuple[str, str]]) -> Path | None:
    if folder is None:
        return None
    h = hashlib.sha256(model_sha.encode())
    for text, label in rows:
        h.update(f"{label}\t{text}\n".encode())
    return Path(folder) / f"nlu-head-{h.hexdigest()[:20]}.npz"


def calibrate_threshold(probs: np.ndarray, labels: list[str], head_labels: list[str],
                        min_oos_recall: float = 0.9) -> float:
    """The lowest confidence threshold that reaches the OOS recall target on held-out rows
    (lowest, so in-scope requests are rejected as rarely as possible)."""
    oos_col = head_labels.index(OOS) if OOS in head_labels else None
    best_in = np.array([max(float(q) for j, q in enumerate(p) if j != oos_col) for p in probs])
    top_is_oos = np.array([oos_col is not None and int(p.argmax()) == oos_col for p in probs])
    is_oos = np.array([l == OOS for l in labels])
    if not is_oos.any():
        return 0.5
    for t in np.arange(0.30, 0.96, 0.01):
        rejected = top_is_oos | (best_in < t)
        if rejected[is_oos].mean() >= min_oos_recall:
            return round(float(t), 2)
    return 0.95


__all__ = [
    "OOS",
    "EmbeddingCache",
    "Recognizer",
    "SoftmaxHead",
    "calibrate_threshold",
    "head_cache_path",
]
