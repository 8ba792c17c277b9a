#!/usr/bin/env bash
# Instructions per committed attribute GET (`GET /api/model/attributes/{id}?showExpressionAs=tree`
# with the project header, the request of the benchmark's attribute figure), counted by callgrind
# as scripts/callgrind-session-check.sh counts a session check; and the store queries each GET
# makes, counted from sqlx's statement log when LOG_LEVEL lets it through.
#
#   scripts/callgrind-attribute-get.sh [BINARY]     (default target/release/vestibule)
#   LOG_LEVEL='info,sqlx::query=debug' scripts/callgrind-attribute-get.sh   (queries per GET)
#
# Environment: REQUESTS (counted requests, default 2000), WARMUP (uncounted first, default 200),
# LOG_LEVEL (the server's log.level, default info). The project holds the system folders, one
# table and one attribute (as the benchmark seeds it), made through the API before counting.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/vestibule}
requests=${REQUESTS:-2000}
warmup=${WARMUP:-200}
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

api() { # METHOD PATH [EXTRA-HEADER] [BODY]: the JSON answer
  curl -sf -X "$1" "$base$2" -H "X-MSTR-AuthToken: $token" -H "Cookie: $cookie" \
    -H 'Content-Type: application/json' ${3:+-H "$3"} --data "${4:-{\}}"
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

project=$(curl -sf "$base/api/projects" -H "X-MSTR-AuthToken: $token" -H "Cookie: $cookie" | field 'd[0]["id"]')
folder=$("$bin" --data-dir "$scratch/data" project folders "$project" | awk '/\/Schema Objects\/Attributes$/ {print $1}')
cs=$(api POST '/api/model/changesets?schemaEdit=true' "X-MSTR-ProjectID: $project" | field 'd["id"]')
table=$(api POST /api/model/tables "X-MSTR-MS-Changeset: $cs" '{"information": {"name": "LU_BENCH"},
  "physicalTable": {"tableName": "LU_BENCH", "columns": [
    {"columnName": "BENCH_ID", "dataType": {"type": "integer"}},
    {"columnName": "BENCH_DESC", "dataType": {"type": "n_var_char"}}]}}' | field 'd["information"]["objectId"]')
t="{\"name\": \"LU_BENCH\", \"subType\": \"logical_table\", \"objectId\": \"$table\"}"
attribute=$(api POST /api/model/attributes "X-MSTR-MS-Changeset: $cs" "{
  \"information\": {\"name\": \"Bench\", \"subType\": \"attribute\", \"destinationFolderId\": \"$folder\"},
  \"forms\": [
    {\"name\": \"ID\", \"category\": \"ID\", \"displayFormat\": \"number\", \"lookupTable\": $t,
     \"expressions\": [{\"expression\": {\"tree\": {\"columnName\": \"BENCH_ID\", \"type\": \"column_reference\"}}, \"tables\": [$t]}]},
    {\"name\": \"DESC\", \"category\": \"DESC\", \"displayFormat\": \"text\", \"lookupTable\": $t,
     \"expressions\": [{\"expression\": {\"tokens\": [{\"value\": \"BENCH_DESC\"}]}, \"tables\": [$t]}]}],
  \"attributeLookupTable\": $t, \"keyForm\": {\"name\": \"ID\"},
  \"displays\": {\"reportDisplays\": [{\"name\": \"DESC\"}], \"browseDisplays\": [{\"name\": \"DESC\"}]}}" \
  | field 'd["information"]["objectId"]')
api POST "/api/model/changesets/$cs/commit" >/dev/null

# One curl, one keep-alive connection, N requests: the client adds nothing to the server's count.
gets() {
  local config="$scratch/curl-$1"
  {
    echo "header = \"X-MSTR-AuthToken: $token\""
    echo "header = \"Cookie: $cookie\""
    echo "header = \"X-MSTR-ProjectID: $project\""
    for _ in $(seq "$1"); do
      echo "url = \"$base/api/model/attributes/$attribute?showExpressionAs=tree\""
      echo "output = \"/dev/null\""
    done
  } >"$config"
  local codes
  codes=$(curl -s -K "$config" -w '%{http_code}\n' | sort | uniq -c)
  [ "$(printf '%s\n' "$codes" | wc -l)" = 1 ] && [[ "$codes" == *" 200" ]] \
    || { echo "attribute GETs answered: $codes" >&2; exit 1; }
}

queries() { grep -c 'sqlx::query' "$scratch/stderr" || true; }

gets "$warmup"
callgrind_control -i on "$server" >/dev/null 2>&1
callgrind_control -z "$server" >/dev/null 2>&1
before=$(queries)
gets "$requests"
after=$(queries)
callgrind_control -d "$server" >/dev/null 2>&1
callgrind_control -i off "$server" >/dev/null 2>&1

total=$(cat "$out".* 2>/dev/null | sed -n "s/^summary: //p" | awk '{ s += $1 } END { print s }')
echo "profile: $scratch (callgrind_annotate $out.*)"
echo "log level ${LOG_LEVEL:-info}: $requests attribute GETs, $total instructions, $((total / requests)) per request"
echo "store queries logged: $((after - before)) ($(( (after - before) / requests )) per request)"
