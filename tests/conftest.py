"""Shared fixtures: each lives in tests/fixtures/<concern>.py and is registered here."""

from assistant import privacy

# Telemetry opt-outs before any test imports onnxruntime (assistant/privacy.py).
privacy.apply()

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.audio",
    "tests.fixtures.daemon",
]
