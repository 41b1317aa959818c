#!/usr/bin/env bash
# Token lifecycle costs, in one run against one private Redis:
# - get-user for an existing group with the audit trail on (the default:
#   one more Redis write per call) and off (a second instance on the same
#   Redis with TESSERA_AUDIT_RETENTION=0 and TESSERA_VERIFY_CACHE=0),
#   alternating, twice each;
# - POST /api/token/refresh beside POST /api/verify, fresh (the second
#   instance has the verified-token cache off) and repeated (both with the
#   store check; a refresh also verifies, signs a new token and records an
#   audit event).
# Prints each run and the ratios. Tessera and Redis on core 0, wrk on core 1.
#
#   bench/lifecycle.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh
bench_setup
BASE_ON=$BASE
token=$(bench_token)
BENCH_ISSUER=$BASE_ON bench_serve TESSERA_REDIS_URL="$REDIS_URL" TESSERA_AUDIT_RETENTION=0 TESSERA_VERIFY_CACHE=0
BASE_OFF=$BASE

rps() { awk '{for (i=1;i<=NF;i++) if ($i=="req/s") print $(i-1)}' <<<"$1"; }
run() { # NAME wrk-args...: prints the line, appends the rate to RATES_<key>
  local line
  line=$(bench_run "$@")
  echo "$line"
  LAST=$(rps "$line")
}

echo "release build, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
on=(); off=()
for round in 1 2; do
  run "get-user, audit on ($round)" -s bench/get_user.lua "$BASE_ON/api/user"; on+=("$LAST")
  run "get-user, audit off ($round)" -s bench/get_user.lua "$BASE_OFF/api/user"; off+=("$LAST")
done
run "POST /api/verify (repeated token)" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE_ON/api/verify"; verify=$LAST
run "POST /api/verify (fresh: cache off)" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE_OFF/api/verify"; fresh=$LAST
run "POST /api/token/refresh" -s bench/post.lua -H "Authorization: Bearer $token" "$BASE_ON/api/token/refresh"; refresh=$LAST
python3 - "${on[@]}" "${off[@]}" "$verify" "$fresh" "$refresh" <<'PY'
import sys
on1, on2, off1, off2, verify, fresh, refresh = map(float, sys.argv[1:])
print(f"get-user audit on/off: {(on1 + on2) / (off1 + off2):.3f} (rounds: {on1 / off1:.3f}, {on2 / off2:.3f})")
print(f"refresh / verify fresh: {refresh / fresh:.3f}; refresh / verify repeated: {refresh / verify:.3f}")
PY
stream=$(redis-cli -u "$REDIS_URL" --scan --pattern '*:audit' | head -1)
events=$(redis-cli -u "$REDIS_URL" XLEN "$stream")
bytes=$(redis-cli -u "$REDIS_URL" MEMORY USAGE "$stream")
echo "audit trail of the benchmarked group: $events events (the cap), $bytes bytes in Redis ($((bytes / events)) per event)"
