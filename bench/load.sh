#!/usr/bin/env bash
# Load harness: get-user for an existing group beside GET /healthz, measured
# in one run against a release build and a private redis-server on loopback.
# get-user runs twice: with the operator key (TESSERA_API_KEY, checked in
# memory) and with a stored API key (one more Redis lookup per request).
# The service and Redis are pinned to core 0, wrk to core 1.
#
#   bench/load.sh [seconds per run, default 10] [connections, default 32]
#
# Prints requests per second for each endpoint and fails when any answer was
# not 2xx. Needs redis-server and wrk (apt-get install redis-server wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-32}

cargo build --release --quiet
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
port=$(free_port)
cleanup() { kill "${tessera_pid:-}" "${redis_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

taskset -c 0 redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$work" >/dev/null &
redis_pid=$!
export TESSERA_BENCH_KEY="bench-operator-key-0123456789"
TESSERA_API_KEY=$TESSERA_BENCH_KEY TESSERA_REDIS_URL="redis://127.0.0.1:$redis_port" \
  TESSERA_LISTEN="127.0.0.1:$port" TESSERA_KEYS_DIR="$work/keys" RUST_LOG=warn \
  taskset -c 0 target/release/tessera >"$work/out" 2>"$work/err" &
tessera_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -X POST "http://127.0.0.1:$port/api/user" -H 'Content-Type: application/json' \
  -H "Authorization: Token $TESSERA_BENCH_KEY" \
  -d '{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}' >/dev/null

run() {
  local name=$1; shift
  local out
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$@")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$name: non-2xx answers, run rejected" >&2
    echo "$out" >&2
    exit 1
  fi
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-28s %10s req/s   p50 %8s   p99 %8s\n' "$name" "$rps" "$p50" "$p99"
}

echo "release build, ${duration}s per run, $connections connections, wrk on core 1, tessera+redis on core 0"
run "GET /healthz" "http://127.0.0.1:$port/healthz"
run "POST /api/user (existing)" -s bench/get_user.lua "http://127.0.0.1:$port/api/user"
stored_key=$(TESSERA_REDIS_URL="redis://127.0.0.1:$redis_port" target/release/tessera api-keys create --name bench 2>/dev/null)
TESSERA_BENCH_KEY=$stored_key run "POST /api/user (stored key)" -s bench/get_user.lua "http://127.0.0.1:$port/api/user"
run "GET /healthz (again)" "http://127.0.0.1:$port/healthz"
