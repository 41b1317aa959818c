#!/usr/bin/env bash
# What recording metrics costs: get-user (existing group) and /api/verify
# against two release builds in one run, one with metrics recording (the
# default) and one built with it disabled (--no-default-features), each on
# its own private Redis, alternating builds between runs. Prints each figure
# and the ratio with/without. Tessera and Redis on core 0, wrk on core 1.
#
#   bench/metrics_cost.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SECONDS=${1:-10}
BENCH_CONNECTIONS=${2:-32}
source bench/lib.sh

# The build without recording, kept aside; then the default build back.
cargo build --release --quiet --bin tessera --no-default-features
plain=$(mktemp)
cp target/release/tessera "$plain"
chmod +x "$plain"
bench_build
trap 'kill "${BENCH_PIDS[@]}" 2>/dev/null || true; rm -rf "$BENCH_WORK" "$plain"' EXIT

bench_start_own with target/release/tessera
bench_start_own without "$plain"

echo "release builds, ${BENCH_SECONDS}s per run, $BENCH_CONNECTIONS connections, wrk on core 1, servers on core 0"
rate() { awk '{print $2}' <<<"$1"; }
for route in get-user verify; do
  for build in without with; do
    base_var="BASE_$build"; token_var="TOKEN_$build"
    if [ "$route" = get-user ]; then
      line=$(bench_run "$route, metrics $build" -s bench/get_user.lua "${!base_var}/api/user")
    else
      line=$(bench_run "$route, metrics $build" -s bench/post.lua -H "Authorization: Bearer ${!token_var}" "${!base_var}/api/verify")
    fi
    echo "$line"
    printf -v "RPS_${route//-/_}_$build" '%s' "$(awk '{for (i=1;i<=NF;i++) if ($i=="req/s") print $(i-1)}' <<<"$line")"
  done
done
python3 - "$RPS_get_user_with" "$RPS_get_user_without" "$RPS_verify_with" "$RPS_verify_without" <<'PY'
import sys
gw, gwo, vw, vwo = map(float, sys.argv[1:])
print(f"ratio with/without metrics: get-user {gw / gwo:.3f}, verify {vw / vwo:.3f}")
PY
