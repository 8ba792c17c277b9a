#!/usr/bin/env bash
# Installs the pinned official clients used by the compatibility tests:
#   compat/.venv          Python venv from compat/requirements.txt (mstrio-py, ThoughtSpot libraries)
#   compat/node_modules   npm packages from compat/package.json (ThoughtSpot TypeScript SDK)
# Idempotent: a venv whose requirements stamp matches is reused.
set -euo pipefail
cd "$(dirname "$0")/../compat"

if [ -f requirements.txt ]; then
  stamp=.venv/.requirements.sha256
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "compat: creating Python venv with $(grep -cv '^#' requirements.txt) pinned packages"
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$stamp"
  fi
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "compat: installing npm packages"
    if [ -f package-lock.json ]; then npm ci --silent --no-audit --no-fund; else npm install --silent --no-audit --no-fund; fi
  fi
fi
