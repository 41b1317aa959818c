#!/usr/bin/env bash
# The figures of docs/performance.md: every hot path and its floor at 1, 8,
# 32 and 128 connections, RUNS times each (default 3; runs interleaved, so
# a slow minute of the machine touches every path alike). Writes the raw
# runs to bench/results/curves.tsv, then bench/curves.py rewrites the table
# in docs/performance.md (medians) and draws docs/performance.svg.
#   bench/curves.sh [seconds per run, default 5] [runs, default 3]
# Needs redis-server, wrk, python3, gnuplot. Servers on core 0, wrk on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-5}
RUNS=${2:-3}
source bench/lib.sh
bench_setup
token=$(bench_token)
bench_floor
api_cached=$BASE
BENCH_ISSUER=$BASE bench_serve TESSERA_REDIS_URL="$REDIS_URL" TESSERA_VERIFY_CACHE=0
api_fresh=$BASE

bench_renderer "$api_cached" 10000 "$token"; mw_cached=$RENDERER
bench_renderer "$api_cached" 0 "$token"; mw_fresh=$RENDERER

# name | wrk arguments
paths=(
  "floor hello|$FLOOR/hello"
  "floor GET|$FLOOR/get"
  "floor GET+sign|$FLOOR/get-sign"
  "floor verify|-s bench/post.lua -H Authorization:Bearer_$FLOOR_TOKEN $FLOOR/verify"
  "floor GET+verify|-s bench/post.lua -H Authorization:Bearer_$FLOOR_TOKEN $FLOOR/get-verify"
  "healthz|$api_cached/healthz"
  "get-user existing|-s bench/get_user.lua $api_cached/api/user"
  "get-user new group|-s bench/get_user_new.lua $api_cached/api/user"
  "verify fresh|-s bench/post.lua -H Authorization:Bearer_$token $api_fresh/api/verify"
  "verify repeated|-s bench/post.lua -H Authorization:Bearer_$token $api_cached/api/verify"
  "refresh|-s bench/post.lua -H Authorization:Bearer_$token $api_cached/api/token/refresh"
  "middleware fresh|-H Authorization:Bearer_$token $mw_fresh/dashboard"
  "middleware cached|-H Authorization:Bearer_$token $mw_cached/dashboard"
)

mkdir -p bench/results
out=bench/results/curves.tsv
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), ${BENCH_SECONDS}s per run"
  printf 'path\tconnections\trun\trps\tp50_ms\tp99_ms\n'
} >"$out"
for run in $(seq "$RUNS"); do
  for connections in 1 8 32 128; do
    for entry in "${paths[@]}"; do
      name=${entry%%|*}
      # Header values travel with '_' for the space, so the list splits on spaces.
      read -ra args <<<"${entry#*|}"
      args=("${args[@]/Authorization:Bearer_/Authorization: Bearer }")
      BENCH_CONNECTIONS=$connections bench_run "$name (c=$connections, run $run)" "${args[@]}"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$connections" "$run" "$BENCH_RPS" "$BENCH_P50" "$BENCH_P99" >>"$out"
    done
  done
done
python3 bench/curves.py "$out"
