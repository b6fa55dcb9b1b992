#!/usr/bin/env bash
# Sets everything up (with the test extras) and runs the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
exec .venv/bin/pytest -q "$@"
