#!/usr/bin/env bash
# Load harness: get-user for an existing group on each store — embedded,
# standalone Redis, a 3-master Redis Cluster — each beside GET /healthz of
# the same process, all in one run. Tessera and its Redis processes are
# pinned to core 0, wrk to core 1.
#
#   bench/stores.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh
bench_build

redis_node() { # PORT [cluster args...]
  local port=$1; shift
  mkdir -p "$BENCH_WORK/redis-$port"
  taskset -c 0 redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$BENCH_WORK/redis-$port" "$@" >/dev/null &
  BENCH_PIDS+=($!)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

measure() { # NAME
  bench_get_user >/dev/null
  bench_run "$1: GET /healthz" "$BASE/healthz"
  bench_run "$1: POST /api/user (existing)" -s bench/get_user.lua "$BASE/api/user"
  kill "$BENCH_LAST_PID"
}

echo "release build, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
bench_serve
measure "embedded"

standalone=$(bench_free_port)
redis_node "$standalone"
bench_serve TESSERA_REDIS_URL="redis://127.0.0.1:$standalone"
measure "redis"

nodes=()
for port in 41101 41102 41103; do
  redis_node "$port" --cluster-enabled yes --cluster-node-timeout 2000
  nodes+=("127.0.0.1:$port")
done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 100); do
  redis-cli -p 41101 cluster info | grep -q cluster_state:ok && break
  sleep 0.1
done
bench_serve TESSERA_REDIS_CLUSTER="$(IFS=,; echo "${nodes[*]}")"
measure "cluster"
