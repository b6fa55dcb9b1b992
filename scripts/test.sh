#!/usr/bin/env bash
# Sets everything up (with the test extras), lints, and runs the whole test suite, slow and
# model-building tests included. Day to day: `.venv/bin/pytest --fast` (see tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
scripts/lint.sh
exec .venv/bin/pytest -q "$@"
