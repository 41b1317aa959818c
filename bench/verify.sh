#!/usr/bin/env bash
# Load harness for verification, in one run beside GET /healthz:
# - POST /api/verify (signature, claims and the Redis store check);
# - a renderer behind the middleware (examples/renderer.rs, keys from the
#   service's JWKS URL) with the verified-token cache on (a repeated token,
#   as a dashboard's widgets send it) and off (every request verifies its
#   token afresh: the cost of a fresh token).
# Tessera, Redis and the renderers are pinned to core 0, wrk to core 1.
#
#   bench/verify.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh
bench_setup
token=$(bench_get_user | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_group"]["token"])')

start_renderer() { # CACHE: starts a renderer on core 0; sets RENDERER
  local port
  port=$(bench_free_port)
  TESSERA_URL=$BASE RENDERER_LISTEN="127.0.0.1:$port" RENDERER_TOKEN_CACHE=$1 RUST_LOG=warn \
    taskset -c 0 target/release/examples/renderer >/dev/null 2>&1 &
  BENCH_PIDS+=($!)
  RENDERER="http://127.0.0.1:$port"
}
start_renderer 10000
cached=$RENDERER
start_renderer 0
uncached=$RENDERER
for renderer in "$cached" "$uncached"; do
  for _ in $(seq 200); do
    curl -fsS -H "Authorization: Bearer $token" "$renderer/dashboard" >/dev/null 2>&1 && break
    sleep 0.05
  done
done

echo "release build, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
bench_run "GET /healthz" "$BASE/healthz"
bench_run "POST /api/verify (store check)" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE/api/verify"
bench_run "POST /api/token/refresh" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE/api/token/refresh"
bench_run "middleware, repeated token (cached)" -H "Authorization: Bearer $token" "$cached/dashboard"
bench_run "middleware, fresh verification" -H "Authorization: Bearer $token" "$uncached/dashboard"
bench_run "GET /healthz (again)" "$BASE/healthz"
