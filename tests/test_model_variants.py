"""Vocabulary-pruned variants (issue 8): files, manifest, tokenizer/model agreement, Parser.

Uses the variants under models/ when their manifest verifies and matches the recipe,
otherwise exports them into a temporary folder (~20-30 s each).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant import config
from assistant.nlu.manifest import ModelError, verify_model

ROOT = Path(__file__).resolve().parents[1]
PRUNED = ["l3v-int8", "l4v-int8"]
pytestmark = pytest.mark.model  # exports the variants when models/ lacks them


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assistant.nlu.export import VARIANTS, export_model, recipe, source_model_dir

    shared = ROOT / "models"
    try:
        for v in PRUNED:
            m = verify_model(shared, v)
            assert m.get("recipe") == recipe(VARIANTS[v], source_model_dir()[1])
        return shared
    except (ModelError, AssertionError):
        out = tmp_path_factory.mktemp("models")
        for v in PRUNED:
            export_model(out, v, progress=lambda _m: None)
        return out


def _tok(path: Path):
    from tokenizers import Tokenizer

    t = Tokenizer.from_file(str(path))
    t.no_padding()
    return t


@pytest.mark.parametrize("variant", PRUNED)
def test_files_manifest_and_size(model_dir: Path, variant: str) -> None:
    m = verify_model(model_dir, variant)
    assert {"model.onnx", "tokenizer.json", "head.npz", "embeddings.npz"} <= set(m["files"])
    kept = m["recipe"]["vocab"]
    assert 5000 < kept < 30522 * 0.6  # MiniLM's full vocabulary is 30,522 word pieces
    # the word-embedding matrix (kept x 384, int8) shrank with the vocabulary: the model is
    # smaller than its unpruned counterpart (~17.4 MB for L3, ~19.3 MB for L4) by well over 6 MB
    layers = int(variant[1])
    unpruned_mb = 11.7 + 1.9 * layers
    assert m["files"]["model.onnx"]["size"] / 1e6 < unpruned_mb - 6


@pytest.mark.parametrize("variant", PRUNED)
def test_tokenizer_matches_model(model_dir: Path, variant: str) -> None:
    """Kept words: same tokens as the full tokenizer; dropped word -> [UNK] or char pieces;
    every id fits the sliced embedding matrix."""
    import onnx

    full = _tok(ROOT / "models" / "l6-int8" / "tokenizer.json")
    pruned = _tok(model_dir / variant / "tokenizer.json")
    pv = pruned.get_vocab()
    text = "remind me to water the plants at six"
    assert full.encode(text).tokens == pruned.encode(text).tokens
    assert pruned.encode(text).ids != full.encode(text).ids  # really renumbered
    assert pv["[PAD]"] == 0
    model = onnx.load(str(model_dir / variant / "model.onnx"))
    rows = [i.dims[0] for i in model.graph.initializer if len(i.dims) == 2 and i.dims[1] == 384
            and i.dims[0] > 1000]
    assert rows and max(rows) == len(pv)
    fv = full.get_vocab()
    rare = next(t for t, i in sorted(fv.items(), key=lambda x: -x[1])
                if t.isalpha() and t.isascii() and len(t) > 5 and t not in pv)  # a dropped word
    enc = pruned.encode(rare)
    assert enc.tokens != full.encode(rare).tokens
    assert all(t in pv for t in enc.tokens)
    assert max(enc.ids) < len(pv)
    weird = pruned.encode("\u2603\u2604")  # characters not in the vocabulary at all
    assert "[UNK]" in weird.tokens


@pytest.mark.parametrize("variant", PRUNED)
def test_parser_runs_variant_by_config(model_dir: Path, variant: str, tmp_path: Path) -> None:
    from assistant.nlu.parser import Parser

    cfg = config.from_dict({"nlu": {"model_dir": str(model_dir), "variant": variant,
                                    "threads": 1, "cache_dir": str(tmp_path)},
                            "storage": {"path": str(tmp_path / "x.db")}})
    parser = Parser(cfg)
    assert parser.classify("set a timer for ten minutes")[0] == "timer.start"
    emb = parser_embedding(model_dir / variant, "what time is it")
    assert emb.shape == (1, 384) and np.isclose(np.linalg.norm(emb), 1.0, atol=1e-4)


def parser_embedding(folder: Path, text: str) -> np.ndarray:
    from assistant.nlu.embedder import Embedder

    return Embedder(folder).embed([text])


def test_bench_json_shape(model_dir: Path) -> None:
    import subprocess
    import sys

    if not Path("/work/shared/data/intents_dev.jsonl").exists():
        pytest.skip("shared evaluation data not present")

    out = subprocess.run([sys.executable, str(ROOT / "bench" / "model_variants.py"), "--json",
                          "--calls", "20", "--variants", "l3v-int8", "--model-dir", str(model_dir)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    rows = json.loads(out.stdout)
    assert {"variant", "params", "size_mb", "p50_ms", "rss_mb", "in_scope_acc",
            "oos_recall"} <= set(rows[0])
    assert rows[0]["variant"] == "l3v-int8" and rows[0]["size_mb"] > 1
    assert 0.5 < rows[0]["in_scope_acc"] <= 1 and rows[0]["p50_ms"] > 0 and rows[0]["rss_mb"] > 20
