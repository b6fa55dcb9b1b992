"""Model bundles: `export-model --bundle` packs the exported model, `import-model` verifies
every hash and installs atomically; a bad bundle is refused with one line and nothing is
written (real files, the real exported model, the real CLI)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.daemon import ROOT

MODELS = ROOT / "models"
VARIANT = "l6-int8"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], check=False,
                          capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MODELS / VARIANT / "model.onnx").exists():
        pytest.skip("no exported model in models/: run `assistant export-model`")
    out = tmp_path_factory.mktemp("bundle") / "model.tar.gz"
    res = cli("export-model", "--bundle", str(out), "--variant", VARIANT,
              "--model-dir", str(MODELS), cwd=out.parent)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{VARIANT}: bundle {out} (")
    assert "exporting" not in res.stderr  # the model was there: packed, not exported again
    return out


def members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:gz") as tf:
        return [(m, tf.extractfile(m).read() if m.isfile() else b"") for m in tf]  # type: ignore[union-attr]


def repack(src: Path, dst: Path,
           edit: Callable[[list[tuple[tarfile.TarInfo, bytes]]], list[tuple[tarfile.TarInfo, bytes]]]) -> Path:
    items = edit(members(src))
    with tarfile.open(dst, "w:gz") as tf:
        for info, data in items:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return dst


def test_bundle_imports_and_serves(bundle: Path, tmp_path: Path) -> None:
    names = [m.name for m, _ in members(bundle)]
    assert names[0] == "bundle.json"
    assert {f"{VARIANT}/manifest.json", f"{VARIANT}/model.onnx",
            f"{VARIANT}/tokenizer.json"} <= set(names)
    target = tmp_path / "box-models"
    res = cli("import-model", str(bundle), "--model-dir", str(target), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{VARIANT}: installed in {target / VARIANT} (")
    assert sorted(p.name for p in target.iterdir()) == [VARIANT]  # no scratch folders left
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[nlu]\nmodel_dir = "{target}"\n[storage]\npath = "{tmp_path / "s.db"}"\n')
    res = cli("parse", "set a timer for ten minutes", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["intent"] == "timer.start"
    # Importing again over an installed model replaces it in place.
    again = cli("import-model", str(bundle), "--model-dir", str(target), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def _flip_byte(items):  # type: ignore[no-untyped-def]
    out = []
    for m, data in items:
        if m.name.endswith("tokenizer.json"):
            data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
        out.append((m, data))
    return out


def _drop(name: str):  # type: ignore[no-untyped-def]
    return lambda items: [(m, d) for m, d in items if not m.name.endswith(name)]


def _add(name: str, kind: bytes = tarfile.REGTYPE, link: str = ""):  # type: ignore[no-untyped-def]
    def edit(items):  # type: ignore[no-untyped-def]
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        return [*items, (info, b"evil")]
    return edit


def _rename_variant(items):  # type: ignore[no-untyped-def]
    out = []
    for m, data in items:
        if m.name == "bundle.json":
            info = json.loads(data)
            info["variant"] = "l1d-int8"
            data = json.dumps(info).encode()
        else:
            m.name = m.name.replace(VARIANT, "l1d-int8")
        out.append((m, data))
    return out


BAD = {
    "wrong hash": (_flip_byte, "tokenizer.json: sha256 mismatch"),
    "missing file": (_drop("model.onnx"), "model.onnx: missing"),
    "path traversal": (_add("../evil.sh"), "member '../evil.sh' is an unsafe path"),
    "absolute path": (_add("/etc/evil"), "member '/etc/evil' is an unsafe path"),
    "symlink": (_add(f"{VARIANT}/link", tarfile.SYMTYPE, "/etc/passwd"),
                f"member '{VARIANT}/link' is a link or special file"),
    "extra file": (_add(f"{VARIANT}/extra.bin"), "files the manifest does not list: extra.bin"),
    "another variant's name": (_rename_variant, "is for variant 'l6-int8', not 'l1d-int8'"),
    "no bundle.json": (_drop("bundle.json"), "has no bundle.json; not a model bundle"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_bundles_are_refused_and_nothing_is_written(bundle: Path, tmp_path: Path,
                                                        case: str) -> None:
    edit, expected = BAD[case]
    bad = repack(bundle, tmp_path / "bad.tar.gz", edit)
    target = tmp_path / "box-models"
    res = cli("import-model", str(bad), "--model-dir", str(target), cwd=tmp_path)
    assert res.returncode == 1, res.stdout
    line = res.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, line
    assert line.startswith(f"assistant: {bad}: ") and expected in line, line
    assert not target.exists()
    assert not (tmp_path.parent / "evil.sh").exists() and not (tmp_path / "evil.sh").exists()


def test_truncated_and_wrong_variant_requests_are_refused(bundle: Path, tmp_path: Path) -> None:
    data = bundle.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    target = tmp_path / "box-models"
    res = cli("import-model", str(cut), "--model-dir", str(target), cwd=tmp_path)
    assert res.returncode == 1
    assert "not a complete model bundle (truncated or corrupt" in res.stderr
    assert not target.exists()
    res = cli("import-model", str(bundle), "--model-dir", str(target), "--variant", "l1d-int8",
              cwd=tmp_path)
    assert res.returncode == 1
    assert "holds variant 'l6-int8', not the requested 'l1d-int8'" in res.stderr
    assert not target.exists()
    res = cli("import-model", str(tmp_path / "nope.tar.gz"), cwd=tmp_path)
    assert res.returncode == 1 and "no such file" in res.stderr
