#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive (CI runs as root). Skips what is
# already installed.
set -euo pipefail
packages=()
for p in "${@}"; do :; done
need() { dpkg -s "$1" >/dev/null 2>&1 || packages+=("$1"); }
# (each feature adds the packages its tests need here)
if [ ${#packages[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
