#!/usr/bin/env bash
# Sourced by the other scripts: puts uv on PATH (installing it from PyPI if missing) and the
# locked environment in .venv. Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv from PyPI" >&2
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet --break-system-packages --user uv
fi
# Compiled bytecode: with PYTHONDONTWRITEBYTECODE=1 (common in CI and containers) every Dagster step
# process would otherwise recompile its imports (one-hour run: ~55 s instead of ~20 s). Compiling
# the whole environment takes a while, so it is done when the lock changes, not on every call.
if [ ! -f .venv/.bytecode-compiled ] || [ uv.lock -nt .venv/.bytecode-compiled ]; then
  UV_COMPILE_BYTECODE=1 uv sync --locked --quiet
  touch .venv/.bytecode-compiled
else
  uv sync --locked --quiet
fi
# The project's own modules (an editable install, which uv does not compile).
.venv/bin/python -m compileall -q binance_assets >/dev/null
export DAGSTER_HOME="$PWD/.dagster_home"
mkdir -p "$DAGSTER_HOME"
