#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind in user space
# (every thread of the server; the kernel's share is not counted): the
# same count for the same binary and load whatever else the machine does,
# so a change can be judged where req/s moves by 30 % between runs of one
# binary (a shared VM). Paths: the floor's (examples/floor.rs), and
# Tessera's /healthz, get-user for an existing group, /api/verify with a
# repeated token and with its cache off (every call verifies afresh).
# With OTHER_BINARY, Tessera's paths are counted for that build too, with
# the ratios this/other (for example the build without metrics recording:
# `cargo build --release --no-default-features`).
#
#   bench/instructions.sh [OTHER_BINARY]
#
# Each path: a warm-up, then the counters are zeroed, 4 s of load by 4
# connections, the counters dumped and divided by the requests answered.
set -euo pipefail
cd "$(dirname "$0")/.."
OTHER=${1:+$(realpath "$1")}
source bench/lib.sh
bench_build
bench_redis
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }

# Servers start through bench_serve and bench_floor under callgrind (which
# start slowly there: up to 2 minutes).
BENCH_WAIT_TRIES=2400

cg_wrap() { # NAME: sets BENCH_WRAP to callgrind writing to CG_OUT
  CG_OUT="$BENCH_WORK/callgrind.$1"
  BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=$CG_OUT"
}

cg_tessera() { # BINARY VAR=value...: tessera under callgrind on the private Redis; sets BASE and CG_PID
  local binary=$1
  shift
  cg_wrap "tessera.$((++CG_SERVERS))"
  TESSERA_BIN=$binary bench_serve TESSERA_REDIS_URL="$REDIS_URL" "$@"
  CG_PID=$BENCH_LAST_PID
}

cg_count() { # NAME wrk-args...: instructions per request of the server in CG_PID
  local name=$1 out requests total dump
  shift
  taskset -c 1 wrk -t1 -c4 -d1s "$@" >/dev/null
  callgrind_control --zero "$CG_PID" >/dev/null 2>&1
  out=$(taskset -c 1 wrk -t1 -c4 -d4s "$@")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$name: non-2xx answers, run rejected" >&2
    exit 1
  fi
  CG_DUMPS=$((CG_DUMPS + 1))
  callgrind_control --dump="count$CG_DUMPS" "$CG_PID" >/dev/null 2>&1
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  dump=$(grep -l "^desc: Trigger: dump count$CG_DUMPS\$" "$CG_OUT".[0-9]*)
  total=$(awk '/^summary:/ {print $2}' "$dump")
  CG_PER_REQUEST=$((total / requests))
  printf '%-44s %9d instructions/request (%d requests)\n' "$name" "$CG_PER_REQUEST" "$requests"
}

cg_paths() { # LABEL BINARY: Tessera's paths on that build; sets COUNT_<path>_<label>
  local label=$1 binary=$2 token
  cg_tessera "$binary"
  token=$(bench_token)
  cg_count "$label: GET /healthz" "$BASE/healthz"
  printf -v "COUNT_healthz_$label" '%s' "$CG_PER_REQUEST"
  cg_count "$label: get-user (existing group)" -s bench/get_user.lua "$BASE/api/user"
  printf -v "COUNT_getuser_$label" '%s' "$CG_PER_REQUEST"
  cg_count "$label: /api/verify (repeated)" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE/api/verify"
  printf -v "COUNT_repeated_$label" '%s' "$CG_PER_REQUEST"
  kill "$CG_PID"
  cg_tessera "$binary" TESSERA_VERIFY_CACHE=0
  token=$(bench_token)
  cg_count "$label: /api/verify (fresh, cache off)" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE/api/verify"
  printf -v "COUNT_fresh_$label" '%s' "$CG_PER_REQUEST"
  kill "$CG_PID"
}

CG_DUMPS=0
CG_SERVERS=0
echo "instructions per request in user space (callgrind), 4 connections"
cg_wrap floor
bench_floor
CG_PID=$BENCH_LAST_PID
floor_token=$FLOOR_TOKEN
cg_count "floor: GET /hello" "$FLOOR/hello"
floor_hello=$CG_PER_REQUEST
cg_count "floor: Redis GET + sign" "$FLOOR/get-sign"
floor_sign=$CG_PER_REQUEST
cg_count "floor: Redis GET + verify" -s bench/post.lua -H "Authorization: Bearer $floor_token" "$FLOOR/get-verify"
floor_verify=$CG_PER_REQUEST
kill "$CG_PID"

cg_paths this target/release/tessera
[ -n "$OTHER" ] && cg_paths other "$OTHER"

python3 - "$floor_hello" "$floor_sign" "$floor_verify" \
  "$COUNT_healthz_this" "$COUNT_getuser_this" "$COUNT_repeated_this" "$COUNT_fresh_this" \
  "${COUNT_healthz_other:-0}" "${COUNT_getuser_other:-0}" "${COUNT_repeated_other:-0}" "${COUNT_fresh_other:-0}" <<'PY'
import sys
hello, sign, verify, hz, gu, rep, fresh, *other = map(int, sys.argv[1:])
print("floor / Tessera (instructions; 1.0 = as few as the floor):")
print(f"  /healthz vs floor hello                {hello / hz:.3f}")
print(f"  get-user vs floor GET+sign             {sign / gu:.3f}")
print(f"  /api/verify fresh vs floor GET+verify  {verify / fresh:.3f}")
print(f"  /api/verify repeated vs fresh          {fresh / rep:.3f} (fresh / repeated)")
if any(other):
    names = ["/healthz", "get-user", "/api/verify repeated", "/api/verify fresh"]
    print("this / other (instructions; below 1.0 = this build does less):")
    for name, this, that in zip(names, [hz, gu, rep, fresh], other):
        print(f"  {name:<38} {this / that:.3f}")
PY
