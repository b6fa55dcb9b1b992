"""Shared fixtures: each lives in tests/fixtures/<concern>.py and is registered here."""

import atexit
import os
import shutil
import tempfile

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
    "tests.fixtures.postgres",
]
