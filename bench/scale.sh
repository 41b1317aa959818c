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

timed() { # runs the command (stdout to /dev/null); prints its seconds and peak RSS in MiB
  python3 -c '
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{time.monotonic() - start:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
' "$@"
}

rate() { printf '%.0f' "$(python3 -c "print($1 / $2)")"; }

page_ms() { # URL: median of 5 fetches, in ms; the page must hold 1000 groups
  curl -fsS -H "Authorization: Token $TESSERA_BENCH_KEY" "$1" |
    python3 -c 'import json,sys; n=len(json.load(sys.stdin)["user_groups"]); sys.exit(n != 1000 and f"page of {n} groups")'
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Token $TESSERA_BENCH_KEY" "$1"
  done | sort -n | sed -n 3p | python3 -c 'import sys; print(f"{float(sys.stdin.read()) * 1000:.1f}")'
}

load() { # NAME GROUPS: get-user over GROUPS existing groups
  # The groups must be the imported ones: a get-user that creates its
  # group would measure another path.
  curl -fsS -X POST "$BASE/api/user" -H 'Content-Type: application/json' \
    -H "Authorization: Token $TESSERA_BENCH_KEY" \
    -d "{\"user_group_id\":\"group-$2\",\"name\":\"Group $2\",\"mapping\":{\"40\":\"213\"},\"properties\":{\"tenant\":$2}}" |
    grep -q '"new_user_group":false' || { echo "group-$2 was not imported" >&2; exit 1; }
  BENCH_GROUPS=$2 bench_run "$1" -s bench/get_user_many.lua "$BASE/api/user"
}

redis_memory() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

gen "$GROUPS_N" "$BENCH_WORK/groups.jsonl"
head -n "$SMALL" "$BENCH_WORK/groups.jsonl" >"$BENCH_WORK/small.jsonl"
echo "scale: $GROUPS_N groups, get-user with $BENCH_CONNECTIONS connections for ${BENCH_SECONDS}s; $(nproc) cores"

report() { # STORE "IMPORT_S IMPORT_MIB" "EXPORT_S EXPORT_MIB" BYTES
  local import=($2) export=($3)
  printf '%-9s import %7s groups/s (peak RSS %s MiB)   export %7s groups/s (peak RSS %s MiB)   %4.0f bytes/group\n' "$1" \
    "$(rate "$GROUPS_N" "${import[0]}")" "${import[1]}" "$(rate "$GROUPS_N" "${export[0]}")" "${export[1]}" \
    "$(python3 -c "print($4 / $GROUPS_N)")"
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

measure() { # STORE VARIABLE SMALL BIG: get-user on the small and on the big store, pages of the big one
  bench_serve "$2=$3"
  load "$1 get-user, $SMALL groups" "$SMALL"
  SMALL_P99=$BENCH_P99
  kill "$BENCH_LAST_PID"; wait "$BENCH_LAST_PID" 2>/dev/null || true
  bench_serve "$2=$4"
  load "$1 get-user, $GROUPS_N groups" "$GROUPS_N"
  p99_ratio "$1"
  pages "$1"
  kill "$BENCH_LAST_PID"; wait "$BENCH_LAST_PID" 2>/dev/null || true
}

# Embedded: import while no service holds the store, then serve it.
small_dir="$BENCH_WORK/embedded-small" big_dir="$BENCH_WORK/embedded-big"
taskset -c 1 target/release/tessera import --data-dir "$small_dir/data" <"$BENCH_WORK/small.jsonl" 2>/dev/null
import_s=$(timed taskset -c 1 target/release/tessera import --data-dir "$big_dir/data" <"$BENCH_WORK/groups.jsonl")
export_s=$(timed taskset -c 1 target/release/tessera export --data-dir "$big_dir/data")
report embedded "$import_s" "$export_s" "$(du -sb "$big_dir/data" | cut -f1)"
echo "embedded  import of $SMALL groups: peak RSS $(timed taskset -c 1 target/release/tessera import --data-dir "$BENCH_WORK/embedded-tiny/data" <"$BENCH_WORK/small.jsonl" | cut -d' ' -f2) MiB"
measure embedded TESSERA_DATA_DIR "$small_dir/data" "$big_dir/data"

# Redis: one server per size.
bench_redis; small_url=$REDIS_URL
taskset -c 1 target/release/tessera import --redis-url "$small_url" <"$BENCH_WORK/small.jsonl" 2>/dev/null
bench_redis; big_url=$REDIS_URL
before=$(redis_memory "$REDIS_PORT")
import_s=$(timed taskset -c 1 target/release/tessera import --redis-url "$big_url" <"$BENCH_WORK/groups.jsonl")
export_s=$(timed taskset -c 1 target/release/tessera export --redis-url "$big_url")
report redis "$import_s" "$export_s" "$(($(redis_memory "$REDIS_PORT") - before))"
measure redis TESSERA_REDIS_URL "$small_url" "$big_url"
