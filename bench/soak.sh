#!/usr/bin/env bash
# Soak: a steady mixed load (get-user new and existing, verify, SQL
# resolve, refresh, revoke) on Tessera over a private Redis for DURATION,
# while a fault script restarts Redis three times and freezes it once
# (SIGSTOP, 5 s, SIGCONT). Prints calls by outcome, every error by code
# with its time, p99 outside the fault windows (a window is the fault plus
# 2 s), and the service's RSS and open descriptors in the first and the
# last minute, against the targets (examples/soak.rs has the details).
#
#   bench/soak.sh [DURATION, default 10m: 600, 90s, 30m, 1h] [calls per second, default 1000]
#
# Before the load, SOAK_WARM (default 12000) tokens are issued and verified
# so the service's bounded caches are full (the verified-token cache holds
# 10 000 by default): the first and the last minute are then both steady
# state, and growth between them is a leak. The RSS before the warm-up is
# printed too.
#
# Redis keeps an append-only file (fsync every second) and is restarted
# with SIGTERM, so the groups survive each restart as they would in
# production. Tessera and Redis on core 0, the load on core 1. The faults
# fall at 1/6, 2/6 and 3/6 of the run (restarts) and 4/6 (the freeze);
# the last sixth is quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=$(python3 - "${1:-10m}" <<'PY'
import re, sys
m = re.fullmatch(r"(\d+)(s|m|h)?", sys.argv[1])
if not m:
    sys.exit(f"bench/soak.sh: not a duration: {sys.argv[1]} (try 600, 90s, 30m, 1h)")
print(int(m.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)])
PY
)
RATE=${2:-1000}
if [ "$seconds" -lt 60 ]; then
  echo "bench/soak.sh: run at least 60 s (the first and last minutes are compared)" >&2
  exit 2
fi
source bench/lib.sh
bench_build
cargo build --release --quiet --example soak

REDIS_PORT=$(bench_free_port)
REDIS_DIR="$BENCH_WORK/redis"
mkdir -p "$REDIS_DIR"
redis_start() {
  taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly yes --appendfsync everysec --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/pid" >/dev/null &
  bench_wait_redis "$REDIS_PORT"
}
redis_pid() { cat "$REDIS_DIR/pid"; }
trap 'kill "$(redis_pid 2>/dev/null)" "${BENCH_PIDS[@]}" 2>/dev/null || true; rm -rf "$BENCH_WORK"' EXIT
redis_start
bench_serve TESSERA_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
faults="$BENCH_WORK/faults"
: >"$faults"

now_ms() { date +%s%3N; }
fault_script() {
  local step=$((seconds / 6)) pid start
  for round in 1 2 3; do
    sleep "$step"
    start=$(now_ms)
    pid=$(redis_pid)
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    redis_start
    echo "$start $(now_ms) Redis restarted ($round of 3)" >>"$faults"
  done
  sleep "$step"
  start=$(now_ms)
  pid=$(redis_pid)
  kill -STOP "$pid"
  sleep 5
  kill -CONT "$pid"
  echo "$start $(now_ms) Redis frozen 5 s (SIGSTOP, SIGCONT)" >>"$faults"
}
fault_script &
faults_pid=$!
BENCH_PIDS+=("$faults_pid")

echo "soak: ${seconds}s at $RATE calls/s; tessera pid $BENCH_LAST_PID and Redis on core 0, the load on core 1"
taskset -c 1 target/release/examples/soak "$BASE" "$TESSERA_BENCH_KEY" "$seconds" "$RATE" "$faults" "$BENCH_LAST_PID" "${SOAK_WARM:-12000}"
wait "$faults_pid"
