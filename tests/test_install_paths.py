"""Installing and operating like a service: telemetry off, the documented default places for
models and state, config discovery, clear lines for unusable state (real subprocesses, the
real model, real files and permissions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from assistant import config as config_mod
from assistant import paths
from tests.fixtures.daemon import ROOT, write_config

MODELS = ROOT / "models"


def clean_env(**extra: str) -> dict[str, str]:
    # CI is dropped too: onnxruntime records no telemetry when CI is set (measured), which
    # would make the control run below prove nothing on a CI machine.
    env = {k: v for k, v in os.environ.items()
           if k not in ("ASSISTANT_CONFIG", "ASSISTANT_MODEL_DIR", "STATE_DIRECTORY",
                        "XDG_DATA_HOME", "XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY", "CI")}
    env.update(extra)
    return env


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], check=False,
                          capture_output=True,
                          text=True, cwd=cwd, env=env or clean_env(), input=input, timeout=180)


def needs_model() -> None:
    if not (MODELS / "l6-int8" / "model.onnx").exists():
        pytest.skip("no exported model in models/: run `assistant export-model`")


# -- telemetry ------------------------------------------------------------------------------
def test_parse_with_a_fresh_home_writes_nothing_there(tmp_path: Path) -> None:
    needs_model()
    home = tmp_path / "home"
    home.mkdir()
    # State (and the embedding cache, should the head need fitting) goes elsewhere: the
    # question is whether anything lands in HOME (~/.cache) behind our back.
    env = clean_env(HOME=str(home), XDG_DATA_HOME=str(tmp_path / "data"))
    # The detector works: onnxruntime on its own (no opt-out) leaves its telemetry store.
    control = tmp_path / "control-home"
    control.mkdir()
    code = ("import onnxruntime as ort; ort.InferenceSession("
            f"{str(MODELS / 'l6-int8' / 'model.onnx')!r}, providers=['CPUExecutionProvider'])")
    subprocess.run([sys.executable, "-c", code], env=clean_env(HOME=str(control)), check=True,
                   cwd=tmp_path, timeout=120)
    assert list(control.rglob("*")), "onnxruntime no longer writes telemetry: revisit privacy.py"
    # The assistant: nothing at all appears in HOME.
    res = cli("parse", "set a timer for ten minutes", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["intent"] == "timer.start"
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []


def test_opt_outs_are_set_when_the_package_loads_and_in_the_unit() -> None:
    code = "import os, assistant; print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_DISABLE_TELEMETRY'])"
    out = subprocess.run([sys.executable, "-c", code], env=clean_env(ORT_DISABLE_TELEMETRY="0"),
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["1", "1"]  # forced, not a default a profile could override
    unit = (ROOT / "systemd" / "assistant.service").read_text()
    assert "Environment=ORT_DISABLE_TELEMETRY=1" in unit


# -- the default places -------------------------------------------------------------------
def test_defaults_are_independent_of_cwd_and_config_folder(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ASSISTANT_MODEL_DIR", "STATE_DIRECTORY", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    cfg_file = tmp_path / "elsewhere" / "config.toml"
    cfg_file.parent.mkdir()
    cfg_file.write_text('[mqtt]\nhost = "broker.lan"\n')
    cfg = config_mod.load(cfg_file)
    monkeypatch.chdir(tmp_path)
    assert cfg.model_dir == ROOT / "models"  # running from the checkout
    assert cfg.db_path == Path.home() / ".local/share/assistant/assistant.db"
    monkeypatch.setenv("ASSISTANT_MODEL_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 's'}:/other")
    assert cfg.model_dir == tmp_path / "m"
    assert cfg.db_path == tmp_path / "s" / "assistant.db"
    monkeypatch.delenv("STATE_DIRECTORY")
    system = config_mod.from_dict({}, source=str(paths.SYSTEM_CONFIG))
    assert system.db_path == Path("/var/lib/assistant/assistant.db")
    # An explicit relative path still resolves against the config's folder.
    rel = config_mod.from_dict({"storage": {"path": "st/a.db"}}, source=str(cfg_file))
    assert rel.db_path == cfg_file.parent / "st" / "a.db"


def test_minimal_config_elsewhere_finds_the_model(tmp_path: Path) -> None:
    needs_model()
    cfg = tmp_path / "etc" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text('[mqtt]\nhost = "127.0.0.1"\n[time]\ntimezone = "Asia/Tokyo"\n')
    work = tmp_path / "somewhere"
    work.mkdir()
    res = cli("parse", "remind me to call mom at 6 pm", "--now", "2026-03-27T09:00",
              "--config", str(cfg), cwd=work, env=clean_env(XDG_DATA_HOME=str(tmp_path / "d")))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["slots"]["when"] == "2026-03-27T18:00:00+09:00"


def test_missing_model_folder_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "nomodels"
    res = cli("parse", "hello", cwd=tmp_path, env=clean_env(ASSISTANT_MODEL_DIR=str(empty)))
    assert res.returncode == 1
    assert str(empty / "l6-int8" / "manifest.json") in res.stderr
    assert "assistant export-model" in res.stderr and "Traceback" not in res.stderr


# -- config discovery -----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_config_before_or_after_the_command_or_from_the_environment(tmp_path: Path,
                                                                    where: str) -> None:
    needs_model()
    cfg = write_config(tmp_path, time={"timezone": "Asia/Tokyo"})
    args = ["parse", "set an alarm for 7 am", "--now", "2026-03-27T05:00"]
    env = clean_env()
    if where == "before":
        args = ["--config", str(cfg), *args]
    elif where == "after":
        args = [*args, "--config", str(cfg)]
    else:
        env["ASSISTANT_CONFIG"] = str(cfg)
    res = cli(*args, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["slots"]["when"].endswith("+09:00")


def test_a_named_config_that_is_missing_is_an_error_before_or_after(tmp_path: Path) -> None:
    for args in (["--config", "/nonexistent.toml", "status"],
                 ["status", "--config", "/nonexistent.toml"]):
        res = cli(*args, cwd=tmp_path)
        assert res.returncode == 2
        assert res.stderr.startswith("assistant: /nonexistent.toml: config file not found")


# -- unusable state -----------------------------------------------------------------------
def test_unwritable_state_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = write_config(tmp_path, storage={"path": str(blocker / "state" / "assistant.db")})
    res = cli("run", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr
    assert lines[-1].startswith(f"assistant: state folder {blocker / 'state'} is not writable")
    assert "[storage] path" in lines[-1]


def _as_nobody(fn) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Run fn() in a forked child as user nobody; its exit code and what it printed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(r)
            sys.stdout = sys.stderr = os.fdopen(w, "w", buffering=1, closefd=False)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code = fn()
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            os.write(w, f"child: {type(exc).__name__}: {exc}\n".encode())
        finally:
            sys.stdout.flush()
            os._exit(code if isinstance(code, int) else 98)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_status_and_reminders_without_permission_say_so(request: pytest.FixtureRequest) -> None:
    import assistant.daemon  # loaded before the fork: nobody cannot read /root
    import assistant.pipeline  # noqa: F401
    from assistant.cli import main
    from assistant.store.db import Store

    base = Path(tempfile.mkdtemp(prefix="assistant-perm-", dir="/tmp"))  # others may traverse
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    os.chmod(base, 0o755)
    state = base / "private"
    state.mkdir(mode=0o700)
    Store(state / "assistant.db").close()
    os.chmod(state / "assistant.db", 0o600)
    cfg = write_config(base, storage={"path": str(state / "assistant.db")})
    os.chmod(cfg, 0o644)
    for argv in (["status", "--config", str(cfg)], ["reminders", "list", "--config", str(cfg)]):
        code, out = _as_nobody(lambda argv=argv: main(argv))
        assert code == 1, out
        assert "Traceback" not in out and "child:" not in out, out
        assert out.strip() == (f"assistant: cannot read {state / 'assistant.db'}: permission "
                               "denied for user nobody; the service keeps its state readable by "
                               "root only (systemd DynamicUser=, UMask=0077): run the command "
                               "with sudo"), out
