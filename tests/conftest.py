"""Shared fixtures: each lives in tests/fixtures/<concern>.py and is registered here."""

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.audio",
    "tests.fixtures.daemon",
    "tests.fixtures.skills",
]
