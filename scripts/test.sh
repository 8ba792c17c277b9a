#!/usr/bin/env bash
# The one test command (see README): prepares the official client libraries for the compatibility
# tests (a Python venv and npm packages under compat/, reused when already there), then runs every
# test of the workspace. Arguments are passed to cargo nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/compat-setup.sh
exec cargo nextest run --workspace --no-fail-fast "$@"
