#!/usr/bin/env bash
# Load harness for verification, in one run beside GET /healthz:
# - POST /api/verify (signature, claims and the Redis store check);
# - a renderer behind the middleware (examples/renderer.rs, keys from the
#   service's JWKS URL) with the verified-token cache on (a repeated token,
#   as a dashboard's widgets send it) and off (every request verifies its
#   token afresh: the cost of a fresh token).
# - /api/verify with its verified-token cache on (a repeated token) and
#   off (TESSERA_VERIFY_CACHE=0: every call checks the signature).
# Each is also printed as a ratio to its floor (examples/floor.rs).
# Tessera, Redis, the floor and the renderers are pinned to core 0, wrk to
# core 1.
#
#   bench/verify.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh
bench_setup
token=$(bench_token)

bench_renderer "$BASE" 10000 "$token"
cached=$RENDERER
bench_renderer "$BASE" 0 "$token"
uncached=$RENDERER

bench_floor
# A second service on the same store with the verified-token cache off:
# every /api/verify checks the signature.
api_cached=$BASE
BENCH_ISSUER=$BASE bench_serve TESSERA_REDIS_URL="$REDIS_URL" TESSERA_VERIFY_CACHE=0
api_fresh=$BASE

echo "release build, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
bench_run "floor: Ed25519 verify" -s bench/post.lua -H "Authorization: Bearer $FLOOR_TOKEN" "$FLOOR/verify"; floor_verify=$BENCH_RPS
bench_run "floor: Redis GET + Ed25519 verify" -s bench/post.lua -H "Authorization: Bearer $FLOOR_TOKEN" "$FLOOR/get-verify"; floor_get_verify=$BENCH_RPS
bench_run "GET /healthz" "$api_cached/healthz"; healthz=$BENCH_RPS
bench_run "POST /api/verify (fresh, store check)" -s bench/post.lua -H "Authorization: Bearer $token" "$api_fresh/api/verify"; fresh=$BENCH_RPS
bench_run "POST /api/verify (repeated, store check)" -s bench/post.lua -H "Authorization: Bearer $token" "$api_cached/api/verify"; repeated=$BENCH_RPS
bench_run "POST /api/token/refresh" -s bench/post.lua -H "Authorization: Bearer $token" "$api_cached/api/token/refresh"
bench_run "middleware, repeated token (cached)" -H "Authorization: Bearer $token" "$cached/dashboard"; mw_cached=$BENCH_RPS
bench_run "middleware, fresh verification" -H "Authorization: Bearer $token" "$uncached/dashboard"; mw_fresh=$BENCH_RPS
bench_run "GET /healthz (again)" "$api_cached/healthz"
bench_ratio "/api/verify fresh / floor GET+verify" "$fresh" "$floor_get_verify"
bench_ratio "/api/verify repeated / fresh" "$repeated" "$fresh"
bench_ratio "middleware cached / /healthz" "$mw_cached" "$healthz"
bench_ratio "middleware fresh / floor verify" "$mw_fresh" "$floor_verify"
