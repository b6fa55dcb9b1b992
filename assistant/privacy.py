"""Nothing leaves the device: the opt-outs of the libraries we load, set in one place.

Why here and why so early: onnxruntime (1.2x-1.3x) keeps a device id and queues telemetry
events under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ unless ORT_DISABLE_TELEMETRY is
set *before it is imported* (its `disable_telemetry_events()` does not stop that).
`assistant/__init__.py` calls apply() before any submodule loads, so every entry point (the
CLI, the daemon, `python -m assistant`, tests, benches) is covered; the systemd unit sets the
same variables.

Audit of the other libraries (versions pinned in pyproject.toml), see README "Privacy":
- huggingface-hub: its telemetry and any download are off with HF_HUB_DISABLE_TELEMETRY and
  HF_HUB_OFFLINE (only the export and faster-whisper import it; we pass local folders).
- transformers / optimum (export only): TRANSFORMERS_OFFLINE; no own telemetry beyond the hub.
- faster-whisper / CTranslate2: no telemetry; a model *name* would download from the hub,
  we always pass a local folder with local_files_only=True.
- tokenizers, piper, pocketsphinx, vosk, paho-mqtt: no telemetry or network code on our path.
"""

from __future__ import annotations

import os

# Values forced (not defaults): a user's environment cannot switch telemetry back on by
# accident, e.g. through a shell profile.
FORCED = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}
# Defaults: offline unless a developer explicitly allows the hub (never needed by us).
DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply(environ: dict[str, str] | None = None) -> None:
    """Set the opt-outs in this process (and so in every child it starts)."""
    env = os.environ if environ is None else environ
    env.update(FORCED)
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)


__all__ = ["DEFAULTS", "FORCED", "apply"]
