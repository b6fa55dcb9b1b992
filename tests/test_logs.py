"""Logging: journald form (priority prefix, no timestamp) vs terminal form, chosen like systemd."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import logs

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    lib_levels = {name: logging.getLogger(name).level for name in logs.NOISY}
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for name, lvl in lib_levels.items():
        logging.getLogger(name).setLevel(lvl)


def journal_stream_for(fh: io.IOBase, monkeypatch: pytest.MonkeyPatch) -> None:
    st = os.fstat(fh.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")


def test_priority_map() -> None:
    assert [logs.priority(lvl) for lvl in (10, 20, 30, 40, 50)] == [7, 6, 4, 3, 2]
    assert logs.priority(25) == 6 and logs.priority(5) == 7


def test_terminal_form_has_timestamps_and_levels() -> None:
    out = io.StringIO()
    logs.setup_logging("info", stream=out)
    logging.getLogger("assistant.test").warning("broker %s unreachable", "127.0.0.1:1")
    logging.getLogger("assistant.test").debug("hidden at INFO")
    line = out.getvalue().rstrip("\n")
    assert "\n" not in line
    assert STAMP.match(line), line
    assert line.endswith("WARNING assistant.test: broker 127.0.0.1:1 unreachable")
    assert not line.startswith("<")


def test_journal_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "journal", "w+", encoding="utf-8") as fh:
        journal_stream_for(fh, monkeypatch)
        assert logs.under_journald(fh)
        logs.setup_logging("DEBUG", stream=fh)
        log = logging.getLogger("assistant.daemon")
        log.debug("d")
        log.info("ready in %.2f s", 1.5)
        log.warning("w")
        log.error("e")
        log.critical("c")
        try:
            raise RuntimeError("database is locked")
        except RuntimeError:
            log.exception("store failed")
        fh.flush()
        lines = Path(fh.name).read_text(encoding="utf-8").splitlines()
    assert lines[:5] == ["<7>assistant.daemon: d", "<6>assistant.daemon: ready in 1.50 s",
                         "<4>assistant.daemon: w", "<3>assistant.daemon: e",
                         "<2>assistant.daemon: c"]
    assert lines[5] == "<3>assistant.daemon: store failed"
    tb = lines[6:]
    # Each traceback line is its own journal entry: same priority, visibly a continuation.
    assert tb[0] == "<3>  | Traceback (most recent call last):"
    assert tb[-1] == "<3>  | RuntimeError: database is locked"
    assert all(line.startswith("<3>  | ") for line in tb)
    assert not any(STAMP.search(line[3:]) for line in lines)


def test_other_stream_is_not_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "a", "w") as a, open(tmp_path / "b", "w") as b:
        journal_stream_for(a, monkeypatch)
        assert not logs.under_journald(b)  # e.g. stderr redirected by hand under systemd
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    assert not logs.under_journald(io.StringIO())


def test_noisy_libraries_are_quiet_unless_debugging() -> None:
    out = io.StringIO()
    logs.setup_logging("INFO", stream=out)
    logging.getLogger("apscheduler.executors.default").info('Running job "fire"')
    logging.getLogger("apscheduler.scheduler").warning("job missed")
    text = out.getvalue()
    assert "Running job" not in text and "job missed" in text
    out2 = io.StringIO()
    logs.setup_logging("DEBUG", stream=out2)
    logging.getLogger("apscheduler.executors.default").info('Running job "fire"')
    assert "Running job" in out2.getvalue()


def test_setup_twice_does_not_duplicate_lines() -> None:
    """SIGHUP reload calls setup_logging again; lines must not double."""
    first, second = io.StringIO(), io.StringIO()
    logs.setup_logging("INFO", stream=first)
    logs.setup_logging("WARNING", stream=second)
    logging.getLogger("assistant").warning("once")
    logging.getLogger("assistant").info("filtered")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert "filtered" not in second.getvalue()


def test_bad_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected one of DEBUG, INFO"):
        logs.setup_logging("LOUD")


def test_real_process_under_a_journal_stream(tmp_path: Path) -> None:
    """stderr is the journal stream (what systemd sets up): default setup picks the prefix form."""
    script = ("import logging; from assistant.logs import setup_logging; setup_logging('INFO'); "
              "logging.getLogger('assistant').info('hello journal')")
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        st = os.fstat(err.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, stderr=err, timeout=60,
                       check=True)
    assert err_path.read_text().splitlines() == ["<6>assistant: hello journal"]
    # Same program in a terminal (no JOURNAL_STREAM): a timestamped line.
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert STAMP.match(proc.stderr)
    assert proc.stderr.rstrip().endswith("INFO    assistant: hello journal")
