"""Shared fixtures: each lives in tests/fixtures/<concern>.py and is registered here.

Two lanes:
- `pytest --fast`: day-to-day work; leaves out the tests marked `slow` or `model` (exports,
  head fits on new sentences, long end-to-end runs) and says how many it left out.
- everything (CI, `scripts/test.sh`): with `CI` set, a test that skips because the
  exported model is missing fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile

import pytest

from assistant import privacy

# Telemetry opt-outs before any test imports onnxruntime (assistant/privacy.py).
privacy.apply()
# The default state folder (assistant/paths.py) of a config without [storage] path: a
# throw-away one, so tests never write into the user's ~/.local/share.
if "XDG_DATA_HOME" not in os.environ:
    _data_home = tempfile.mkdtemp(prefix="assistant-tests-data-")
    os.environ["XDG_DATA_HOME"] = _data_home
    atexit.register(shutil.rmtree, _data_home, True)

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.audio",
    "tests.fixtures.daemon",
    "tests.fixtures.http",
    "tests.fixtures.skills",
    "tests.fixtures.postgres",
]

FAST_SKIPS = ("slow", "model")
MODEL_MISSING = re.compile(
    r"export-model|export the model|not exported|no exported model", re.IGNORECASE
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast", action="store_true", help="day-to-day lane: leave out tests marked slow or model"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--fast"):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("--fast is for day-to-day work; CI runs every test")
    keep, left = [], []
    for item in items:
        (left if any(item.get_closest_marker(m) for m in FAST_SKIPS) else keep).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In CI, a skip for a missing exported model is a failure (no silent skips)."""
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    if MODEL_MISSING.search(reason):
        report.outcome = "failed"
        report.longrepr = f"CI must run this test, but it skipped: {reason}"
