#!/usr/bin/env bash
# Load harness: get-user for an existing group (and for a new group on
# every call) beside GET /healthz, measured
# in one run against a release build and a private redis-server on loopback.
# get-user runs twice: with the operator key (TESSERA_API_KEY, checked in
# memory) and with a stored API key (one more Redis lookup per request).
# Each is also printed as a ratio to its floor (examples/floor.rs: the same
# libraries doing only the irreducible work), measured in the same run.
# The service, the floor and Redis are pinned to core 0, wrk to core 1.
#
#   bench/load.sh [seconds per run, default 10] [connections, default 32]
#
# Prints requests per second for each endpoint and fails when any answer was
# not 2xx. Needs redis-server and wrk (apt-get install redis-server wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh
bench_setup
bench_get_user >/dev/null

bench_floor

echo "release build, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, tessera+redis+floor on core 0"
bench_run "floor: GET /hello" "$FLOOR/hello"; floor_hello=$BENCH_RPS
bench_run "floor: Redis GET + Ed25519 sign" "$FLOOR/get-sign"; floor_sign=$BENCH_RPS
bench_run "GET /healthz" "$BASE/healthz"; healthz=$BENCH_RPS
bench_run "POST /api/user (existing)" -s bench/get_user.lua "$BASE/api/user"; existing=$BENCH_RPS
stored_key=$(TESSERA_REDIS_URL=$REDIS_URL target/release/tessera api-keys create --name bench 2>/dev/null)
TESSERA_BENCH_KEY=$stored_key bench_run "POST /api/user (stored key)" -s bench/get_user.lua "$BASE/api/user"; stored=$BENCH_RPS
bench_run "POST /api/user (new group)" -s bench/get_user_new.lua "$BASE/api/user"; created=$BENCH_RPS
bench_run "GET /healthz (again)" "$BASE/healthz"
bench_ratio "/healthz / floor hello" "$healthz" "$floor_hello"
bench_ratio "get-user (existing) / floor GET+sign" "$existing" "$floor_sign"
bench_ratio "get-user stored key / environment key" "$stored" "$existing"
bench_ratio "get-user new group / existing group" "$created" "$existing"
