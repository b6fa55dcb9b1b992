"""The model manifest: what was exported, from what, and the hashes that prove it is intact.

`models/<variant>/manifest.json` is written last by the exporter; the daemon verifies
every file's size and sha256 against it at start, so a truncated copy or an edited
model is refused with a message that says how to fix it, instead of giving wrong intents.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

MANIFEST = "manifest.json"
FORMAT = 1
# The files a variant folder must hold; the manifest lists their sizes and hashes.
REQUIRED_FILES = ("model.onnx", "tokenizer.json")
FIX = "run `assistant export-model --force`"


class ModelError(AssistantError, RuntimeError):
    """The exported model is missing, incomplete or corrupt; the message says what to run."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


def _label(model_dir: Path, variant: str, name: str) -> str:
    return f"{Path(model_dir.name) / variant / name}" if model_dir.name else f"{variant}/{name}"


def read_manifest(model_dir: Path, variant: str) -> dict[str, Any]:
    """The manifest as written, without checking the files (ModelError if absent/unreadable)."""
    path = Path(model_dir) / variant / MANIFEST
    label = _label(Path(model_dir), variant, MANIFEST)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: not found (model {variant!r} not exported there); run "
                         f"`assistant export-model --variant {variant}` or set [nlu] model_dir"
                         ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{label}: unreadable ({exc}); {FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ModelError(f"{label}: not a model manifest; {FIX}")
    return data


def verify_model(model_dir: Path, variant: str) -> dict[str, Any]:
    """Check every file listed in the manifest (size, then sha256); return the manifest."""
    model_dir = Path(model_dir)
    data = read_manifest(model_dir, variant)
    if data.get("variant") != variant:
        raise ModelError(f"{_label(model_dir, variant, MANIFEST)}: is for variant "
                         f"{data.get('variant')!r}, not {variant!r}; {FIX}")
    files = data["files"]
    for name in REQUIRED_FILES:
        if name not in files:
            raise ModelError(f"{_label(model_dir, variant, MANIFEST)}: lists no {name}; {FIX}")
    for name, entry in files.items():
        path = model_dir / variant / name
        label = _label(model_dir, variant, name)
        if not path.is_file():
            raise ModelError(f"{label}: missing; {FIX}")
        size = path.stat().st_size
        if size != entry.get("size"):
            raise ModelError(f"{label}: size {size} bytes, manifest says {entry.get('size')} "
                             f"(file truncated or replaced); {FIX}")
        if sha256_file(path) != entry.get("sha256"):
            raise ModelError(f"{label}: sha256 mismatch (file corrupt or edited); {FIX}")
    return data


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    """Write manifest.json atomically (temp file + rename), so a crash leaves no half manifest."""
    path = Path(folder) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = [
    "FORMAT",
    "MANIFEST",
    "REQUIRED_FILES",
    "ModelError",
    "file_entry",
    "read_manifest",
    "sha256_file",
    "verify_model",
    "write_manifest",
]
