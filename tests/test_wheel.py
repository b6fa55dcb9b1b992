"""`pip wheel .` makes an installable wheel: installed into a fresh virtualenv (no source tree,
no torch), it imports a model bundle into its default model folder and serves `parse` and
`say` from any folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.daemon import ROOT

pytestmark = pytest.mark.slow

VARIANT = "l6-int8"


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env,
                         timeout=timeout, check=False)
    assert res.returncode == 0, f"{cmd}: {res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


def test_wheel_installs_and_serves_from_a_bundle(tmp_path: Path) -> None:
    if not (ROOT / "models" / VARIANT / "model.onnx").exists():
        pytest.skip("no exported model in models/: run `assistant export-model`")
    src = tmp_path / "src"  # pip wheel writes build/ into the tree: use a clean copy
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".venv-satellite", ".git", "models", "build", "*.egg-info", "__pycache__", ".pytest_cache",
        ".ruff_cache", ".hypothesis", "state"))
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", src, "-w", dist, cwd=tmp_path)
    (wheel,) = dist.glob("assistant-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "assistant/cli.py" in names
    sentences = {n for n in names if n.endswith("sentences.yaml")}
    assert any("/skills/timers/" in n for n in sentences), sorted(names)  # built-in skills
    assert any("/skills/shopping_list/" in n for n in sentences), sorted(names)
    assert "assistant/nlu/data/out_of_scope.yaml" in names

    bundle = tmp_path / "model.tar.gz"
    run(sys.executable, "-m", "assistant", "export-model", "--bundle", bundle, "--variant",
        VARIANT, "--model-dir", ROOT / "models", cwd=tmp_path)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "pip", "install", "-q", wheel, cwd=tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("ASSISTANT_CONFIG", "ASSISTANT_MODEL_DIR", "STATE_DIRECTORY",
                        "PYTHONPATH", "XDG_DATA_HOME", "XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env["HOME"] = str(home)
    exe = venv / "bin" / "assistant"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run(exe, "import-model", bundle, cwd=elsewhere, env=env).stdout
    default_models = venv / "share" / "assistant" / "models"
    assert out.startswith(f"{VARIANT}: installed in {default_models / VARIANT} (")
    heavy = run(venv / "bin" / "python", "-c",
                "import importlib.util as u; print([m for m in ('torch', 'transformers', "
                "'optimum') if u.find_spec(m)])", cwd=elsewhere, env=env).stdout.strip()
    assert heavy == "[]"
    parsed = json.loads(run(exe, "parse", "set a timer for ten minutes", cwd=elsewhere,
                            env=env).stdout)
    assert parsed["intent"] == "timer.start" and parsed["slots"]["duration_s"] == 600
    said = json.loads(run(exe, "say", "--json", "remind me to water the plants at 6 pm",
                          cwd=elsewhere, env=env).stdout)
    assert said["ok"] is True and said["intent"] == "reminder.create"
    # State went to the per-user data folder, nothing into the working folder.
    assert (home / ".local" / "share" / "assistant" / "assistant.db").exists()
    assert list(elsewhere.iterdir()) == []
