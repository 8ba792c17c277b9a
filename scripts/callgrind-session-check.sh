#!/usr/bin/env bash
# Instructions per session check (figure a's request, `GET /api/sessions` with the token and its
# cookie, docs/performance.md), counted by callgrind: independent of load and of the machine's
# other work, so two builds compare within a fraction of a percent.
#
#   scripts/callgrind-session-check.sh [BINARY]     (default target/release/vestibule)
#
# Environment: REQUESTS (counted requests, default 4000), WARMUP (uncounted requests first,
# default 500), LOG_LEVEL (the server's log.level, default info, the default of a server).
# The server runs under callgrind with instrumentation off while it starts, logs in and warms up;
# only the counted requests are instrumented. Prints the instructions per request; the callgrind
# profile stays in the scratch directory it names, for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/vestibule}
requests=${REQUESTS:-4000}
warmup=${WARMUP:-500}
password=callgrind-admin-password
scratch=$(mktemp -d)
out="$scratch/callgrind.out"

env -u RUST_LOG VESTIBULE_ADMIN_PASSWORD=$password VESTIBULE_LOG_LEVEL=${LOG_LEVEL:-info} \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
  "$bin" --data-dir "$scratch/data" serve --listen 127.0.0.1:0 >"$scratch/stdout" 2>"$scratch/stderr" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

base=
for _ in $(seq 600); do
  base=$(sed -n 's/^vestibule listening on //p' "$scratch/stdout")
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { echo "the server did not start:" >&2; cat "$scratch/stderr" >&2; exit 1; }

headers=$(curl -s -D - -o /dev/null -X POST "$base/api/auth/login" \
  --data-urlencode loginMode=1 --data-urlencode username=administrator \
  --data-urlencode "password=$password")
token=$(printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Xx]-[Mm][Ss][Tt][Rr]-[Aa]uth[Tt]oken: //p')
cookie=$(printf '%s' "$headers" | tr -d '\r' | grep -i '^set-cookie: JSESSIONID=' | head -1 \
  | sed 's/^[^:]*: //; s/;.*//')
[ -n "$token" ] && [ -n "$cookie" ] || { echo "login failed: $headers" >&2; exit 1; }

# One curl, one keep-alive connection, N requests: the client adds nothing to the server's count.
checks() {
  local config="$scratch/curl-$1"
  {
    echo "header = \"X-MSTR-AuthToken: $token\""
    echo "header = \"Cookie: $cookie\""
    for _ in $(seq "$1"); do
      echo "url = \"$base/api/sessions\""
      echo "output = \"/dev/null\""
    done
  } >"$config"
  local codes
  codes=$(curl -s -K "$config" -w '%{http_code}\n' | sort | uniq -c)
  [ "$(printf '%s\n' "$codes" | wc -l)" = 1 ] && [[ "$codes" == *" 200" ]] \
    || { echo "session checks answered: $codes" >&2; exit 1; }
}

checks "$warmup"
callgrind_control -i on "$server" >/dev/null 2>&1
callgrind_control -z "$server" >/dev/null 2>&1
checks "$requests"
callgrind_control -d "$server" >/dev/null 2>&1
callgrind_control -i off "$server" >/dev/null 2>&1

total=$(cat "$out".* 2>/dev/null | sed -n "s/^summary: //p" | awk '{ s += $1 } END { print s }')
echo "profile: $scratch (callgrind_annotate $out.*)"
echo "log level ${LOG_LEVEL:-info}: $requests session checks, $total instructions, $((total / requests)) per request"
