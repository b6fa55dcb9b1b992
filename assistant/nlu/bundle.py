"""Model bundles: move an exported model to a box that has only the runtime (no torch).

A bundle is a gzip tar holding `bundle.json` (format, variant, the manifest's sha256) and
`<variant>/manifest.json` plus every file the manifest lists. Import streams it into a
scratch folder, checks every name (no `..`, no absolute paths, no links or devices), the
variant, the manifest's own hash and every file's size and sha256, and only then moves the
folder into `<model_dir>/<variant>` with a rename. A truncated, corrupt, tampered or foreign
bundle is refused with one line and nothing is written under the model folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

from assistant.nlu.manifest import MANIFEST, ModelError, sha256_file, verify_model

BUNDLE_INFO = "bundle.json"
BUNDLE_FORMAT = 1
MAX_MEMBER_BYTES = 2 * 1024**3  # no model file comes near this; a bigger member is hostile
MAX_MEMBERS = 64


class BundleError(ModelError):
    """The bundle cannot be made or is refused; the message names the file and the reason."""


def create_bundle(model_dir: Path, variant: str, out: Path) -> dict[str, Any]:
    """Pack `<model_dir>/<variant>` (verified first) into `out`; return bundle.json's data."""
    model_dir, out = Path(model_dir), Path(out)
    manifest = verify_model(model_dir, variant)
    folder = model_dir / variant
    info = {"format": BUNDLE_FORMAT, "variant": variant,
            "manifest_sha256": sha256_file(folder / MANIFEST),
            "files": sorted(manifest["files"])}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tf:
            _add_bytes(tf, BUNDLE_INFO, (json.dumps(info, indent=2) + "\n").encode())
            for name in [MANIFEST, *sorted(manifest["files"])]:
                ti = tf.gettarinfo(str(folder / name), arcname=f"{variant}/{name}")
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                ti.mode = 0o644
                with open(folder / name, "rb") as fh:
                    tf.addfile(ti, fh)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return info


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode = len(data), 0o644
    tf.addfile(ti, io.BytesIO(data))


def import_bundle(path: Path, model_dir: Path, variant: str | None = None) -> dict[str, Any]:
    """Verify the bundle at `path` and install it as `<model_dir>/<variant>`; return the
    manifest. `variant`, when given, is the one the caller expects (refused otherwise)."""
    from assistant.nlu.export import VARIANTS

    path, model_dir = Path(path), Path(model_dir)
    with tempfile.TemporaryDirectory(prefix="assistant-bundle-") as scratch:
        stage = Path(scratch)
        info = _unpack(path, stage)
        got = info.get("variant")
        if got not in VARIANTS:
            raise BundleError(f"{path}: names the unknown model variant {got!r}; expected one "
                              f"of {', '.join(VARIANTS)}")
        if variant is not None and got != variant:
            raise BundleError(f"{path}: holds variant {got!r}, not the requested {variant!r}")
        extra = sorted(p.name for p in stage.iterdir() if p.name not in (got, BUNDLE_INFO))
        if extra:
            raise BundleError(f"{path}: files outside the {got}/ folder: {', '.join(extra)}")
        folder = stage / got
        if not (folder / MANIFEST).is_file():
            raise BundleError(f"{path}: has no {got}/{MANIFEST}")
        if sha256_file(folder / MANIFEST) != info.get("manifest_sha256"):
            raise BundleError(f"{path}: {got}/{MANIFEST} does not match the hash in "
                              f"{BUNDLE_INFO} (edited or corrupt)")
        try:
            manifest = verify_model(stage, got)
        except ModelError as exc:
            raise BundleError(f"{path}: refused: {_strip_fix(str(exc))}") from None
        unlisted = sorted(p.name for p in folder.iterdir()
                          if p.name != MANIFEST and p.name not in manifest["files"])
        if unlisted:
            raise BundleError(f"{path}: files the manifest does not list: {', '.join(unlisted)}")
        _install(folder, model_dir, got)
    return manifest


def _strip_fix(text: str) -> str:
    return text.split("; run `assistant export-model")[0]


def _unpack(path: Path, stage: Path) -> dict[str, Any]:
    """Stream the archive into `stage` after checking each member; return bundle.json."""
    seen: set[str] = set()
    try:
        with tarfile.open(path, "r:gz") as tf:
            for member in tf:  # streaming: reading to the end checks the gzip CRC and length
                if len(seen) >= MAX_MEMBERS:
                    raise BundleError(f"{path}: more than {MAX_MEMBERS} members; not a bundle")
                rel = _safe_name(path, member)
                if rel in seen:
                    raise BundleError(f"{path}: member {rel!r} appears twice")
                seen.add(rel)
                src = tf.extractfile(member)
                assert src is not None  # a regular file (checked in _safe_name)
                dest = stage / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as out:
                    copied = 0
                    while block := src.read(1 << 20):
                        copied += len(block)
                        out.write(block)
                if copied != member.size:
                    raise BundleError(f"{path}: member {rel!r} is truncated")
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BundleError(f"{path}: not a complete model bundle (truncated or corrupt gzip/tar: "
                          f"{exc}); make it again with `assistant export-model --bundle`") from None
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if BUNDLE_INFO not in seen:
        raise BundleError(f"{path}: has no {BUNDLE_INFO}; not a model bundle "
                          "(make one with `assistant export-model --bundle FILE`)")
    try:
        info = json.loads((stage / BUNDLE_INFO).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: {BUNDLE_INFO} is not JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: {BUNDLE_INFO} is not format {BUNDLE_FORMAT}")
    return info


def _safe_name(path: Path, member: tarfile.TarInfo) -> str:
    name = member.name
    parts = name.split("/")
    if (not member.isfile() or name.startswith("/") or "\\" in name or "\0" in name
            or any(p in ("", ".", "..") for p in parts) or len(parts) > 2):
        kind = "a link or special file" if not member.isfile() else "an unsafe path"
        raise BundleError(f"{path}: member {name!r} is {kind}; refused, nothing written")
    if member.size > MAX_MEMBER_BYTES:
        raise BundleError(f"{path}: member {name!r} is {member.size} bytes; refused")
    if len(parts) == 1 and name != BUNDLE_INFO:
        raise BundleError(f"{path}: unexpected top-level member {name!r}")
    return name


def _install(folder: Path, model_dir: Path, variant: str) -> None:
    """Copy next to the target, then swap with renames: readers see the old or the new."""
    model_dir.mkdir(parents=True, exist_ok=True)
    work = model_dir / f".{variant}.import"
    old = model_dir / f".{variant}.old"
    shutil.rmtree(work, ignore_errors=True)
    try:
        shutil.copytree(folder, work)
        for p in [work, *work.iterdir()]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        verify_model_dir = work.parent
        final = model_dir / variant
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        verify_model(verify_model_dir, variant)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bundle_digest(path: Path) -> str:
    """sha256 of a bundle file, to print next to it (compare before copying to a device)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["BUNDLE_INFO", "BundleError", "bundle_digest", "create_bundle", "import_bundle"]
