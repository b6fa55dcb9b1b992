"""Distilled, fused variants (issue 8): the student recipe, and a real export end to end.

The export test distils for a few dozen steps only (the product runs 3000): it checks the
pipeline — teacher, student, vocabulary pruning, kernel fusion, int8, manifest, tokenizer
agreement, Parser by config — not the quality, which bench/model_variants.py measures.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from assistant import config
from assistant.nlu import export
from assistant.nlu.distill import noisy_variants, student_layers
from assistant.nlu.manifest import verify_model

ROOT = Path(__file__).resolve().parents[1]
QUICK_STEPS = 40
PRODUCT_L1D = export.VARIANTS["l1d-int8"]  # before the fixture swaps in a quick recipe


def test_student_layers_spread_over_the_teacher() -> None:
    assert student_layers(1) == [0]
    assert student_layers(2) == [0, 3]
    assert student_layers(3) == [0, 2, 4]
    assert student_layers(6) == list(range(6))
    assert student_layers(9) == list(range(6))


def test_noisy_variants_are_deterministic_perturbations() -> None:
    src = ["set a timer for ten minutes", "remind me to call mom at six", "what time is it"]
    a = noisy_variants(src, 50, seed=3)
    assert a == noisy_variants(src, 50, seed=3)
    assert a != noisy_variants(src, 50, seed=4)
    assert len(a) == 50
    vocab = {w for s in src for w in s.split()}
    assert all(s.split() and set(s.split()) <= vocab for s in a)  # made of the sources' words
    assert sum(s not in src for s in a) > 25  # mostly new word sequences


def test_every_variant_is_a_config_choice() -> None:
    assert set(config._CHOICES[("nlu", "variant")]) == set(export.VARIANTS)
    assert export.DEFAULT_VARIANT in export.VARIANTS


def test_recipe_records_distillation_and_keeps_old_recipes() -> None:
    l1d = export.recipe(export.VARIANTS["l1d-int8"], "0.1.0")
    assert l1d["distill_steps"] > 0 and l1d["fuse"] is True and l1d["vocab"] > 0
    assert l1d["distill_version"] == export.DISTILL_VERSION
    l6 = export.recipe(export.VARIANTS["l6-int8"], "0.1.0")  # unchanged: no re-export
    assert set(l6) == {"export_version", "source_version", "name", "layers", "quant"}


@pytest.fixture(scope="module")
def quick_l1d(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    spec = dataclasses.replace(export.VARIANTS["l1d-int8"], distill_steps=QUICK_STEPS)
    mp = pytest.MonkeyPatch()
    mp.setitem(export.VARIANTS, "l1d-int8", spec)
    out = tmp_path_factory.mktemp("models-l1d")
    try:
        messages: list[str] = []
        manifest = export.export_model(out, "l1d-int8", progress=messages.append)
        again: list[str] = []
        export.export_model(out, "l1d-int8", progress=again.append)
        yield out, {"manifest": manifest, "messages": messages, "again": again}
    finally:
        mp.undo()


@pytest.mark.slow
def test_distilled_export_files_manifest_and_rerun(quick_l1d: tuple[Path, dict]) -> None:
    out, got = quick_l1d
    m = verify_model(out, "l1d-int8")
    assert m == got["manifest"]
    assert m["recipe"]["distill_steps"] == QUICK_STEPS and m["recipe"]["layers"] == 1
    assert {"model.onnx", "tokenizer.json", "head.npz", "embeddings.npz"} <= set(m["files"])
    assert m["files"]["model.onnx"]["size"] < 7e6  # 1 layer + ~9k word pieces, int8
    assert any("distilling: step" in s for s in got["messages"])
    assert any("up to date" in s for s in got["again"])  # re-running is a no-op
    stamp = json.loads((out / f".fp32-l1-d{QUICK_STEPS}" / "recipe.json").read_text())
    assert stamp["distill"]["teacher_layers_kept"] == [0]
    with np.load(out / "l1d-int8" / "embeddings.npz") as z:  # int8 seed cache + row scales
        assert z["vecs"].dtype == np.int8 and z["scale"].shape == (len(z["texts"]),)
    from assistant.nlu.embedder import Embedder
    from assistant.nlu.parser import SEED_FILE, seed_vectors

    seeds = seed_vectors(out / "l1d-int8" / SEED_FILE)
    texts = list(seeds)[::2000]
    fresh = Embedder(out / "l1d-int8").embed(texts, batch_size=1)
    seed = np.stack([seeds[t] for t in texts])
    cos = (seed * fresh).sum(axis=1) / np.linalg.norm(seed, axis=1)
    # int8 rounding alone costs < 1e-4 (0.99995 on the product l1d-int8); this barely trained
    # student re-embeds a little differently (0.998 seen), so the bound is looser
    assert cos.min() > 0.995, cos


@pytest.mark.slow
def test_distilled_graph_is_fused_quantized_and_matches_tokenizer(
        quick_l1d: tuple[Path, dict]) -> None:
    """One fused attention kernel, int8 weights, an embedding matrix exactly as large as the
    pruned tokenizer, and the same embeddings as the unfused fp32 student with the full
    tokenizer (so pruning + fusion + int8 changed the cost, not the function)."""
    import onnx

    from assistant.nlu.embedder import Embedder

    out, _ = quick_l1d
    model = onnx.load(str(out / "l1d-int8" / "model.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert sum(op in ("Attention", "QAttention") for op in ops) == 1, ops
    assert "Softmax" not in ops  # the attention's softmax lives inside the fused kernel
    assert any(op in ("QAttention", "MatMulInteger", "DynamicQuantizeMatMul") for op in ops)
    tok = json.loads((out / "l1d-int8" / "tokenizer.json").read_text())
    rows = max(i.dims[0] for i in model.graph.initializer if len(i.dims) == 2 and i.dims[1] == 384)
    assert rows == len(tok["model"]["vocab"]) < 30522 * 0.6
    small = Embedder(out / "l1d-int8")
    fp32 = Embedder(out / f".fp32-l1-d{QUICK_STEPS}")
    texts = ["remind me to water the plants tomorrow at six", "what time is it",
             "set a pasta timer for eight minutes", "cancel all my alarms"]
    cos = (small.embed(texts, batch_size=1) * fp32.embed(texts, batch_size=1)).sum(axis=1)
    assert cos.min() > 0.97, cos


@pytest.mark.slow
def test_daemon_parser_runs_the_distilled_variant(quick_l1d: tuple[Path, dict],
                                                   tmp_path: Path) -> None:
    from assistant.nlu.parser import Parser

    out, got = quick_l1d
    assert got["manifest"]["accuracy"] > 0.7  # even barely distilled, L1 + head is usable
    cfg = config.from_dict({"nlu": {"model_dir": str(out), "variant": "l1d-int8", "threads": 1,
                                    "cache_dir": str(tmp_path)},
                            "storage": {"path": str(tmp_path / "x.db")}})
    parser = Parser(cfg)
    assert parser.classify("set a timer for ten minutes")[0] == "timer.start"
    result = parser.parse("remind me to call mom tomorrow at six pm")
    assert result.intent == "reminder.create"
    assert parser.classify("what's the capital of peru")[0] == "out_of_scope"


def test_shipped_distilled_variant_quality() -> None:
    """When models/l1d-int8 was exported with the product recipe: the export's own held-out
    figures (the dev-set figures are bench/model_variants.py's job)."""
    try:
        m = verify_model(ROOT / "models", "l1d-int8")
    except export.ModelError:
        pytest.skip("models/l1d-int8 is optional and absent (setup builds only the default variant)")
    if m["recipe"] != export.recipe(PRODUCT_L1D, m["source"]["version"]):
        pytest.skip("models/l1d-int8 was made by another recipe")
    assert m["accuracy"] >= 0.9 and m["oos_recall"] >= 0.9
