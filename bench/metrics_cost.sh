#!/usr/bin/env bash
# What recording metrics costs: get-user (existing group) and /api/verify
# against two release builds in one run, the default one (metrics recorded)
# and one built with recording disabled (--no-default-features), through
# bench/compare.sh (each build on its own private Redis, alternating builds
# between rounds). "this" is the build with metrics, "other" the one
# without; the ratios printed are with/without.
#
#   bench/metrics_cost.sh [seconds per run, default 10] [connections, default 32] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."

# The build without recording, kept aside; compare.sh builds the default
# one back.
cargo build --release --quiet --bin tessera --no-default-features
plain=$(mktemp)
trap 'rm -f "$plain"' EXIT
cp target/release/tessera "$plain"
chmod +x "$plain"
echo "this = metrics recorded (default build), other = built with recording disabled"
BENCH_ROUNDS=${3:-3} bench/compare.sh "$plain" "${1:-10}" "${2:-32}"
