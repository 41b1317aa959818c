#!/usr/bin/env bash
# Scale: GROUPS groups (default 1 000 000), generated as JSON Lines, loaded
# with `tessera import` into the embedded store and into Redis. For each
# store it prints the import and export rates, the bytes per group, get-user
# p50/p99 over 1 000 groups beside GROUPS groups, and the time of the first
# and of the last `/api/users` page.
#   bench/scale.sh [GROUPS]
# Needs redis-server, wrk, python3. Server and Redis on core 0, the load
# tool on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
GROUPS_N=${1:-1000000}
SMALL=1000
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_SECONDS=${BENCH_SECONDS:-10}
bench_build

gen() { # COUNT FILE: COUNT group records, team_id 1..COUNT
  python3 - "$1" "$2" <<'PY'
import sys
count, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    for n in range(1, count + 1):
        out.write('{"team_id":%d,"provided_id":"group-%d","name":"Group %d","mapping":{"40":"213"},'
                  '"properties":{"tenant":%d},"gen":1,"created_at":"2026-01-01T00:00:00Z",'
                  '"updated_at":"2026-01-01T00:00:00Z"}\n' % (n, n, n, n))
PY
}

timed() { # prints the seconds the command took; its stdout to /dev/null
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{float(\"$end\") - float(\"$start\"):.3f}')"
}

rate() { printf '%.0f' "$(python3 -c "print($1 / $2)")"; }

page_ms() { # URL: median of 5 fetches, in ms
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Token $TESSERA_BENCH_KEY" "$1"
  done | sort -n | sed -n 3p | python3 -c 'import sys; print(f"{float(sys.stdin.read()) * 1000:.1f}")'
}

load() { # NAME GROUPS: get-user over GROUPS existing groups
  BENCH_GROUPS=$2 bench_run "$1" -s bench/get_user_many.lua "$BASE/api/user"
}

redis_memory() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

gen "$GROUPS_N" "$BENCH_WORK/groups.jsonl"
head -n "$SMALL" "$BENCH_WORK/groups.jsonl" >"$BENCH_WORK/small.jsonl"
echo "scale: $GROUPS_N groups, get-user with $BENCH_CONNECTIONS connections for ${BENCH_SECONDS}s; $(nproc) cores"

report() { # STORE IMPORT_S EXPORT_S BYTES
  printf '%-9s import %9s groups/s   export %9s groups/s   %6.0f bytes/group\n' "$1" \
    "$(rate "$GROUPS_N" "$2")" "$(rate "$GROUPS_N" "$3")" "$(python3 -c "print($4 / $GROUPS_N)")"
}

p99_ratio() { # STORE: p99 at GROUPS_N over p99 at SMALL
  printf '%-9s get-user p99 %s groups / %s groups: %s\n' "$1" "$GROUPS_N" "$SMALL" \
    "$(python3 -c "print(f'{$BENCH_P99 / $SMALL_P99:.2f}')")"
}

pages() { # STORE
  local first last
  first=$(page_ms "$BASE/api/users?limit=1000")
  last=$(page_ms "$BASE/api/users?limit=1000&cursor=$((GROUPS_N - 1000))")
  printf '%-9s /api/users first page %7s ms   last page %7s ms   ratio %s\n' "$1" "$first" "$last" \
    "$(python3 -c "print(f'{$last / $first:.2f}')")"
}

# Embedded: import while no service holds the store, then serve it.
small_dir="$BENCH_WORK/embedded-small" big_dir="$BENCH_WORK/embedded-big"
target/release/tessera import --data-dir "$small_dir/data" <"$BENCH_WORK/small.jsonl" 2>/dev/null
import_s=$(timed target/release/tessera import --data-dir "$big_dir/data" <"$BENCH_WORK/groups.jsonl")
export_s=$(timed target/release/tessera export --data-dir "$big_dir/data")
report embedded "$import_s" "$export_s" "$(du -sb "$big_dir/data" | cut -f1)"
bench_serve TESSERA_DATA_DIR="$small_dir/data"
load "embedded get-user, $SMALL groups" "$SMALL"
SMALL_P99=$BENCH_P99
kill "$BENCH_LAST_PID"; wait "$BENCH_LAST_PID" 2>/dev/null || true
bench_serve TESSERA_DATA_DIR="$big_dir/data"
load "embedded get-user, $GROUPS_N groups" "$GROUPS_N"
p99_ratio embedded
pages embedded
kill "$BENCH_LAST_PID"; wait "$BENCH_LAST_PID" 2>/dev/null || true

# Redis: one server per size.
redis_at() { # sets RPORT and RURL for a new server
  RPORT=$(bench_free_port)
  RURL="redis://127.0.0.1:$RPORT"
  taskset -c 0 redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --dir "$BENCH_WORK" >/dev/null &
  BENCH_PIDS+=($!)
  for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
}
redis_at; small_url=$RURL
target/release/tessera import --redis-url "$small_url" <"$BENCH_WORK/small.jsonl" 2>/dev/null
redis_at; big_url=$RURL
before=$(redis_memory "$RPORT")
import_s=$(timed target/release/tessera import --redis-url "$big_url" <"$BENCH_WORK/groups.jsonl")
export_s=$(timed target/release/tessera export --redis-url "$big_url")
report redis "$import_s" "$export_s" "$(($(redis_memory "$RPORT") - before))"
bench_serve TESSERA_REDIS_URL="$small_url"
load "redis get-user, $SMALL groups" "$SMALL"
SMALL_P99=$BENCH_P99
kill "$BENCH_LAST_PID"; wait "$BENCH_LAST_PID" 2>/dev/null || true
bench_serve TESSERA_REDIS_URL="$big_url"
load "redis get-user, $GROUPS_N groups" "$GROUPS_N"
p99_ratio redis
pages redis
