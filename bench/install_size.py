"""Installed size of a runtime-only box (what `scripts/install.sh --model-bundle` makes).

Builds the project's wheel from a clean copy of the tree, makes a model bundle with
`assistant export-model --bundle`, then for each of "runtime" (the wheel alone) and
"runtime + whisper" (the [whisper] extra) creates a fresh virtualenv, installs, imports the
bundle with `assistant import-model` (into the venv's default model folder) and runs one
`assistant parse`, and prints the venv's size on disk (du), the model folder's size and the
biggest installed packages. No torch, transformers or optimum is installed in either.

    .venv/bin/python bench/install_size.py [--variant l6-int8] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def run(*cmd: object, cwd: Path) -> str:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
                         check=False)
    if res.returncode != 0:
        raise SystemExit(f"{cmd}: exit {res.returncode}\n{res.stderr[-2000:]}")
    return res.stdout


def biggest(site: Path, n: int = 6) -> list[tuple[str, float]]:
    sizes = [(p.name, du(p) / 1e6) for p in site.iterdir() if p.is_dir()
             and not p.name.endswith((".dist-info", "__pycache__"))]
    return [(name, round(mb, 1)) for name, mb in sorted(sizes, key=lambda x: -x[1])[:n]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", default="l6-int8")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-size-") as tmp:
        work = Path(tmp)
        src = work / "src"
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            ".venv", ".git", "models", "build", "*.egg-info", "__pycache__", ".pytest_cache",
            ".ruff_cache", ".hypothesis", "state"))
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", src, "-w", work / "dist",
            cwd=work)
        (wheel,) = (work / "dist").glob("assistant-*.whl")
        bundle = work / "model.tar.gz"
        run(sys.executable, "-m", "assistant", "export-model", "--bundle", bundle, "--variant",
            args.variant, "--model-dir", ROOT / "models", cwd=work)
        bundle_mb = round(bundle.stat().st_size / 1e6, 1)
        rows = []
        for name, spec in (("runtime", f"{wheel}"), ("runtime + whisper", f"{wheel}[whisper]")):
            venv = work / name.replace(" + ", "-")
            run(sys.executable, "-m", "venv", venv, cwd=work)
            run(venv / "bin" / "pip", "install", "-q", spec, cwd=work)
            run(venv / "bin" / "assistant", "import-model", bundle, cwd=work)
            run(venv / "bin" / "assistant", "parse", "set a timer for ten minutes", cwd=work)
            models = venv / "share" / "assistant" / "models"
            site = next((venv / "lib").glob("python3*/site-packages"))
            rows.append({"install": name, "venv_mb": round(du(venv) / 1e6, 1),
                         "model_mb": round(du(models) / 1e6, 1),
                         "biggest_packages_mb": biggest(site)})
    out = {"python": sys.version.split()[0], "variant": args.variant, "bundle_mb": bundle_mb,
           "rows": rows}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"model bundle ({args.variant}): {bundle_mb} MB")
        for r in rows:
            print(f"{r['install']:<18} venv {r['venv_mb']:7.1f} MB (model {r['model_mb']} MB "
                  f"included); biggest: " + ", ".join(f"{n} {mb}" for n, mb in
                                                      r["biggest_packages_mb"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
