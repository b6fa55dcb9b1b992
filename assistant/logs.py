"""Logging set-up: journald-friendly under systemd, readable with timestamps in a terminal.

Why two formats: journald stamps every line itself and reads a "<N>" syslog priority prefix
per line (SyslogLevelPrefix=yes, the default), so under systemd we print no timestamp and
prefix each line with its level; `journalctl -p warning -u assistant` then works. In a
terminal a human wants the time. systemd tells us which case we are in: it sets
JOURNAL_STREAM="device:inode" of the stream it connected to our stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

# Python level -> syslog priority (sd-daemon(3): <7> debug ... <2> crit).
PRIORITIES = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Libraries that log routine chatter at INFO ("Running job ...", "Added job ...",
# "Processing audio with duration ...") which would drown ours in the journal.
NOISY = (
    "apscheduler",
    "faster_whisper",
    "sqlite_utils",
    "urllib3",
    "asyncio",
    "filelock",
    "huggingface_hub",
    "transformers",
    "optimum",
    "onnxruntime",
    "numba",
    "paho",
)

HUMAN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"
CONTINUATION = "  | "


def priority(levelno: int) -> int:
    """Syslog priority for a Python level; in-between levels take the next lower one."""
    for lvl in sorted(PRIORITIES, reverse=True):
        if levelno >= lvl:
            return PRIORITIES[lvl]
    return 7


def under_journald(stream: TextIO | None = None) -> bool:
    """True when `stream` (default stderr) is the journal stream systemd gave us."""
    stream = sys.stderr if stream is None else stream
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, sep, ino = value.partition(":")
    if not sep:
        return False
    try:
        st = os.fstat(stream.fileno())
        return st.st_dev == int(dev) and st.st_ino == int(ino)
    except (OSError, ValueError, AttributeError):
        # No real file descriptor (pytest capture, io.StringIO): not the journal.
        return False


class JournalFormatter(logging.Formatter):
    """"<N>name: message"; continuation lines (tracebacks) keep the same prefix.

    journald makes one entry per line, so every line carries the record's priority and a
    visible "  | " marker that ties it to the first line.
    """

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{priority(record.levelno)}>"
        lines = text.splitlines() or [""]
        out = [prefix + lines[0]]
        out.extend(prefix + CONTINUATION + line for line in lines[1:])
        return "\n".join(out)


class HumanFormatter(logging.Formatter):
    """Timestamped lines; continuation lines indented so a traceback reads as one block."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        lines = text.splitlines() or [""]
        return "\n".join([lines[0], *(CONTINUATION + line for line in lines[1:])])


class _AssistantHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we own so a second setup_logging (SIGHUP) replaces it."""


def setup_logging(level: str, stream: TextIO | None = None) -> None:
    """Configure the root logger once per call: level, format for journald or a terminal.

    Safe to call again (SIGHUP reload): our previous handler is replaced, not stacked.
    """
    name = str(level).strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    numeric = getattr(logging, name)
    stream = sys.stderr if stream is None else stream

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _AssistantHandler):
            root.removeHandler(handler)
            handler.close()  # StreamHandler.close never closes the stream itself
    handler = _AssistantHandler(stream)
    handler.setFormatter(JournalFormatter() if under_journald(stream) else HumanFormatter())
    root.addHandler(handler)
    root.setLevel(numeric)

    # Library chatter: warnings only, unless we debug (then their INFO is welcome).
    quiet = logging.INFO if numeric <= logging.DEBUG else logging.WARNING
    for lib in NOISY:
        logging.getLogger(lib).setLevel(quiet)
    logging.captureWarnings(True)


__all__ = [
    "PRIORITIES",
    "HumanFormatter",
    "JournalFormatter",
    "priority",
    "setup_logging",
    "under_journald",
]
