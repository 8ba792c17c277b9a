#!/usr/bin/env bash
# The benchmark: builds the release binaries (vestibule and the hello-world baseline), then runs
# the harness, which writes bench/results/latest.md and latest.svg and prints the ratios last.
# Needs wrk (apt-get install wrk; installed here when missing) and, for the Redis figure, Redis on
# VESTIBULE_BENCH_REDIS_URL (default redis://127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -p vestibule -p vestibule-bench
exec target/release/vestibule-bench "$@"
