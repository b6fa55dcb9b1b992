#!/usr/bin/env bash
# Sets everything up, makes sure a local Mosquitto listens on 127.0.0.1:1883, and runs the
# daemon in the foreground with the default config.toml (Ctrl-C stops it cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "==> starting a local Mosquitto on 127.0.0.1:1883"
  mosquitto -c scripts/mosquitto-local.conf -d
  sleep 0.5
fi
echo "==> assistant run (try: mosquitto_pub -t assistant/default/command -m 'set a timer for 10 minutes')"
exec .venv/bin/assistant run --config config.toml
