"""The NLU entry point: text -> intent, confidence and slots (the `assistant parse` contract).

Loads the exported model once (refusing it if the manifest's hashes do not match),
builds the recognizer from the skill registry's sentence files, fills the slots each
intent declares (its `SlotSpec`), and never raises on bad input:
empty, emoji-only or non-English text is `out_of_scope`, long text is truncated.
Imports only onnxruntime, tokenizers and numpy (no torch) — the daemon's rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from assistant.events import ParseResult, empty_slots
from assistant.nlu.embedder import Embedder
from assistant.nlu.manifest import ModelError, verify_model
from assistant.nlu.normalize import clean, looks_english
from assistant.nlu.recognizer import BAD_NPZ, OOS, EmbeddingCache, Recognizer, SoftmaxHead
from assistant.nlu.training import training_rows

if TYPE_CHECKING:
    from assistant.config import Config
    from assistant.skill import Registry
    from assistant.timeparse import SlotResult

log = logging.getLogger(__name__)
HEAD_FILE = "head.npz"
SEED_FILE = "embeddings.npz"


def rows_digest(rows: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for text, label in rows:
        h.update(f"{label}\t{text}\n".encode())
    return h.hexdigest()


def load_head(folder: Path, digest: str) -> SoftmaxHead | None:
    """The head fitted at export, if it was fitted on exactly these sentences."""
    path = folder / HEAD_FILE
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["digest"]) != digest:
                return None
            return SoftmaxHead(z["labels"].tolist(), z["W"], z["b"])
    except BAD_NPZ:
        log.warning("%s is unreadable; fitting the intent head instead", path)
        return None


def seed_vectors(path: Path) -> dict[str, np.ndarray]:
    """sentence -> float32 embedding from an export's seed file (int8 per row with a scale,
    or float16 in exports made before that)."""
    with np.load(path, allow_pickle=False) as z:
        vecs = z["vecs"].astype(np.float32)
        if "scale" in z.files:
            vecs *= z["scale"][:, None]
        return dict(zip(z["texts"].tolist(), vecs))


def seed_cache(cache: EmbeddingCache, folder: Path) -> None:
    """Preload the embeddings computed at export so a changed sentence set only embeds the
    sentences that are new."""
    path = folder / SEED_FILE
    if not path.exists():
        return
    try:
        for t, v in seed_vectors(path).items():
            cache.data.setdefault(t, v)
    except BAD_NPZ:
        log.warning("%s is unreadable; embedding the sentences instead", path)


class Parser:
    """One model, one recognizer, loaded once per process."""

    def __init__(self, cfg: Config, extra_sentences: list[Path] | None = None,
                 registry: Registry | None = None) -> None:
        if registry is None:
            from assistant.skill import load_registry

            registry = load_registry(cfg)
        self.cfg = cfg
        self.registry = registry
        variant = cfg.nlu.variant
        self.folder = cfg.model_dir / variant
        self.manifest = verify_model(cfg.model_dir, variant)
        self.embedder = Embedder(self.folder, threads=cfg.nlu.threads)
        model_sha = self.manifest["files"]["model.onnx"]["sha256"]
        rows = [(t, i) for t, i, _ in training_rows(extra_sentences, registry=registry)]
        threshold = cfg.nlu.threshold or float(self.manifest.get("threshold") or 0.5)
        digest = rows_digest(rows)
        head = load_head(self.folder, digest)
        cache_dir = cfg.cache_dir
        if head is not None:
            self.recognizer = Recognizer(self.embedder, head, threshold)
        else:
            cache = EmbeddingCache(cache_dir, model_sha)
            seed_cache(cache, self.folder)
            head_path = cache_dir / f"nlu-head-{model_sha[:12]}-{digest[:16]}.npz"
            log.info("fitting the intent head on %d sentences (new or changed sentence files)",
                     len(rows))
            self.recognizer = Recognizer.build(self.embedder, rows, threshold, cache, head_path)
        self.intents = sorted(set(self.recognizer.head.labels))
        self._settings = None

    # -- public ---------------------------------------------------------------------------
    def classify(self, text: str) -> tuple[str, float]:
        """(intent, confidence) for one utterance; out_of_scope for anything unusable."""
        c = clean(text)
        if not c.text or c.letters == 0 or not looks_english(c):
            return OOS, 1.0
        return self.recognizer.classify(c.text)

    def parse(self, text: str, now: datetime | None = None, zone: ZoneInfo | None = None
              ) -> ParseResult:
        """Intent, confidence and slots; never raises on bad input."""
        raw = text if isinstance(text, str) else str(text)
        c = clean(raw)
        if not c.text:
            return ParseResult(raw, OOS, 1.0, empty_slots(), error="empty request: no words to understand")
        if c.letters == 0:
            return ParseResult(raw, OOS, 1.0, empty_slots(), error="no words to understand (only symbols or emoji)")
        if not looks_english(c):
            return ParseResult(raw, OOS, 1.0, empty_slots(), error="not English: only English requests are understood")
        intent, conf = self.recognizer.classify(c.text)
        result = ParseResult(raw, intent, conf, empty_slots())
        if intent != OOS:
            # slots from the whole request: the word window is for the classifier only
            res = self._slots(c.full, intent, now, zone)
            result.slots, result.error, result.unresolved = res.slots, res.error, res.unresolved
            result.more = [{"intent": intent, "confidence": round(result.confidence, 4), "slots": s}
                           for s in res.more]
        return result

    # -- slots ----------------------------------------------------------------------------
    def _slots(self, text: str, intent: str, now: datetime | None, zone: ZoneInfo | None
               ) -> SlotResult:
        from assistant.timeparse import TimeSettings, extract_slots

        if self._settings is None:
            self._settings = TimeSettings.from_config(self.cfg)
        settings = self._settings
        if zone is not None and zone != settings.zone:
            settings = dataclasses.replace(settings, zone=zone)
        if now is None:
            now = datetime.now(settings.zone)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=settings.zone)
        return extract_slots(text, self.registry.slot_spec(intent), now, settings)


__all__ = ["HEAD_FILE", "SEED_FILE", "ModelError", "Parser", "rows_digest", "seed_vectors"]
