#!/usr/bin/env bash
# This build against another one (an earlier commit's binary, say), in one
# run: get-user for an existing group and POST /api/verify, alternating
# builds, BENCH_ROUNDS rounds each (default 2), each build on its own
# private Redis. Prints every run
# and the ratios this/other. Tessera and Redis on core 0, wrk on core 1.
#
#   bench/compare.sh OTHER_BINARY [seconds per run, default 10] [connections, default 32]
#
# For example, to see what a change costs:
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && cargo build --release --bin tessera)
#   bench/compare.sh /tmp/base/target/release/tessera
set -euo pipefail
cd "$(dirname "$0")/.."
OTHER=$(realpath "${1:?usage: bench/compare.sh OTHER_BINARY [seconds] [connections]}")
BENCH_SECONDS=${2:-10}
BENCH_CONNECTIONS=${3:-32}
source bench/lib.sh
bench_build

bench_start_own this target/release/tessera
bench_start_own other "$OTHER"

echo "release builds, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
declare -A total
for route in get-user verify; do
  for round in $(seq "${BENCH_ROUNDS:-2}"); do
    for build in other this; do
      base_var="BASE_$build"; token_var="TOKEN_$build"
      if [ "$route" = get-user ]; then
        line=$(bench_run "$route, $build ($round)" -s bench/get_user.lua "${!base_var}/api/user")
      else
        line=$(bench_run "$route, $build ($round)" -s bench/post.lua -H "Authorization: Bearer ${!token_var}" "${!base_var}/api/verify")
      fi
      echo "$line"
      rate=$(awk '{for (i=1;i<=NF;i++) if ($i=="req/s") print $(i-1)}' <<<"$line")
      total[$route,$build]=$(python3 -c "print(${total[$route,$build]:-0} + $rate)")
    done
  done
done
python3 - "${total[get-user,this]}" "${total[get-user,other]}" "${total[verify,this]}" "${total[verify,other]}" <<'PY'
import sys
gt, go, vt, vo = map(float, sys.argv[1:])
print(f"ratio this/other: get-user {gt / go:.3f}, verify {vt / vo:.3f}")
PY
