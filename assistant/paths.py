"""Where things live when the config does not say: the config file, the models, the state.

One documented rule each, independent of the working directory and of the config file's
folder, so the daemon, `assistant export-model`/`import-model` and every other command agree:

- config: --config FILE, else $ASSISTANT_CONFIG, else /etc/assistant/config.toml when it
  exists, else the built-in defaults.
- models ([nlu] model_dir unset): $ASSISTANT_MODEL_DIR, else `models/` of the source tree
  when running from a checkout, else `<installation prefix>/share/assistant/models` (e.g.
  /opt/assistant/venv/share/assistant/models). A model belongs to the code that reads it
  (its recipe version), so it lives with the installation, not with the state.
- state ([storage] path unset): $STATE_DIRECTORY (set by systemd's StateDirectory=), else
  /var/lib/assistant when the config is the system one (so an admin's `assistant status`
  reads what the service writes), else the per-user data folder
  ($XDG_DATA_HOME or ~/.local/share)/assistant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assistant.errors import AssistantError

ENV_CONFIG = "ASSISTANT_CONFIG"
ENV_MODEL_DIR = "ASSISTANT_MODEL_DIR"
ENV_STATE_DIRECTORY = "STATE_DIRECTORY"
SYSTEM_CONFIG = Path("/etc/assistant/config.toml")
SYSTEM_STATE = Path("/var/lib/assistant")
DB_NAME = "assistant.db"


def source_tree() -> Path | None:
    """The checkout this package runs from (editable install or PYTHONPATH), else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "assistant" / "__init__.py").is_file():
        return root
    return None


def discover_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read, or None for the built-in defaults."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    if SYSTEM_CONFIG.is_file():
        return SYSTEM_CONFIG
    return None


def default_model_dir() -> Path:
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(os.path.expanduser(env))
    tree = source_tree()
    if tree is not None:
        return tree / "models"
    return Path(sys.prefix) / "share" / "assistant" / "models"


def default_state_dir(config_source: str = "") -> Path:
    env = os.environ.get(ENV_STATE_DIRECTORY, "")
    if env:
        # systemd passes a colon-separated list when a unit names several folders.
        return Path(env.split(":")[0])
    if config_source and _same_file(Path(config_source), SYSTEM_CONFIG):
        return SYSTEM_STATE
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data_home) / "assistant"


class StateError(AssistantError, RuntimeError):
    """The state folder cannot be used; one line that says which folder and what to do."""


def check_state_writable(db_path: Path) -> None:
    """Raise StateError unless the database's folder exists (or can be made) and is writable."""
    folder = Path(db_path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StateError(
            f"state folder {folder} is not writable ({exc.strerror or exc}); set [storage] path "
            f"to a writable file, or run under systemd with StateDirectory=assistant "
            f"(user {_user()})") from None


def check_state_readable(db_path: Path) -> bool:
    """True when the database exists and can be read, False when there is none yet;
    StateError naming the missing permission when it exists but cannot be read."""
    db_path = Path(db_path)
    try:
        if not db_path.exists():
            return False
        with open(db_path, "rb"):
            return True
    except PermissionError:
        raise StateError(
            f"cannot read {db_path}: permission denied for user {_user()}; the service keeps "
            "its state readable by root only (systemd DynamicUser=, UMask=0077): run the "
            "command with sudo") from None
    except OSError as exc:
        raise StateError(f"cannot read {db_path}: {exc.strerror or exc}") from None


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


__all__ = [
    "DB_NAME",
    "ENV_CONFIG",
    "ENV_MODEL_DIR",
    "ENV_STATE_DIRECTORY",
    "SYSTEM_CONFIG",
    "SYSTEM_STATE",
    "StateError",
    "check_state_readable",
    "check_state_writable",
    "default_model_dir",
    "default_state_dir",
    "discover_config",
    "source_tree",
]
