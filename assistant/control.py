"""`assistant reload`: ask the running daemon to re-read its config and wait for its answer.

Why not just `kill -HUP`: a signal carries no answer, so `systemctl reload` used to report
success before the reload happened and even when the new config was refused (Debian 12's
systemd 252 has no Type=notify-reload). The daemon writes each reload's outcome to
`reload.json` next to its status file, with a counter; the command sends SIGHUP, waits for
the counter to move and exits non-zero with the daemon's reason when it refused. The unit's
ExecReload= runs this command with --pid $MAINPID.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.errors import AssistantError


def status_path(cfg: Config) -> Path:
    """The running daemon's status file (pid, figures), next to its database."""
    return cfg.db_path.parent / "status.json"

RELOAD_FILE = "reload.json"


class ReloadError(AssistantError, RuntimeError):
    """The reload was refused, or the daemon could not be reached; the message says why."""


def reload_path(cfg: Config) -> Path:
    return cfg.db_path.parent / RELOAD_FILE


def read_answer(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}


def write_answer(cfg: Config, ok: bool, detail: str) -> None:
    """Daemon side: record one reload's outcome (atomic rename; readers never see half)."""
    path = reload_path(cfg)
    seq = int(read_answer(path).get("seq", 0)) + 1
    body = {"seq": seq, "ok": ok, "detail": detail, "pid": os.getpid(), "at": time.time()}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body), encoding="utf-8")
    os.replace(tmp, path)


def _daemon_pid(cfg: Config) -> int:

    path = status_path(cfg)
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8")).get("pid", 0))
    except FileNotFoundError:
        raise ReloadError(f"no running daemon found ({path} does not exist); start it with "
                          "`systemctl start assistant` or `assistant run`") from None
    except PermissionError:
        raise ReloadError(f"cannot read {path}: permission denied; run with sudo") from None
    except (OSError, ValueError) as exc:
        raise ReloadError(f"cannot read {path}: {exc}") from None
    if pid <= 0:
        raise ReloadError(f"{path} names no daemon pid")
    return pid


def request_reload(cfg: Config, pid: int | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Send SIGHUP and return the daemon's answer; ReloadError when refused or silent."""
    path = reload_path(cfg)
    pid = pid or _daemon_pid(cfg)
    before = int(read_answer(path).get("seq", 0))
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ReloadError(f"no process {pid}: the daemon is not running") from None
    except PermissionError:
        raise ReloadError(f"not allowed to signal process {pid}: run as the service's user "
                          "or root (`sudo systemctl reload assistant`)") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = read_answer(path)
        if int(answer.get("seq", 0)) > before and answer.get("pid") == pid:
            if not answer.get("ok"):
                raise ReloadError(str(answer.get("detail") or "refused"))
            return answer
        time.sleep(0.1)
    raise ReloadError(f"no answer from process {pid} within {timeout:g} s in {path}")


__all__ = ["RELOAD_FILE", "ReloadError", "read_answer", "reload_path", "request_reload",
           "write_answer"]
