#!/usr/bin/env bash
# Lint: ruff (pinned in the dev extra) with the explicit rule set in pyproject.toml over the
# whole tree, and `ruff format --check` over the files below, which follow ruff's layout.
# The rest of the tree keeps its hand layout; add a file here when you reformat it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF="${RUFF:-.venv/bin/ruff}"
FORMATTED=(
  assistant/errors.py
  assistant/kinds.py
  assistant/skill.py
  assistant/scheduled_skill.py
  assistant/nlu/sentences.py
  assistant/store/lists.py
  assistant/timeparse/spec.py
  skills
  tests/conftest.py
  tests/fixtures/skills.py
  tests/test_skill_api.py
  tests/test_skill_plugins.py
  tests/test_import_graph.py
)
want="$(sed -n 's/.*"ruff==\([0-9.]*\)".*/\1/p' pyproject.toml)"
have="$("$RUFF" --version | awk '{print $2}')"
if [ "$want" != "$have" ]; then
  echo "lint: ruff $have installed, pyproject.toml pins $want (run scripts/setup.sh --dev)" >&2
  exit 1
fi
"$RUFF" check .
"$RUFF" format --check "${FORMATTED[@]}"
