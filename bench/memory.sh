#!/usr/bin/env bash
# Memory of idle keep-alive connections: RSS of the service before, with
# N connections open (each has sent one request and waits), and every 10 s
# for a minute after they close. Prints KiB per connection and the RSS a
# minute later as a ratio to the RSS before. Then get-user for random groups
# among 100 000 for S seconds (about 1 M calls at 6.5k/s in 160 s), and the
# RSS after it. Tessera and Redis on core 0, the clients on core 1.
#
#   bench/memory.sh [connections, default 5000] [seconds of get-user, default 160]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-5000}
GET_USER_SECONDS=${2:-160}
ulimit -n $((CONNECTIONS * 2 + 1024))
BENCH_SECONDS=1
BENCH_CONNECTIONS=1
source bench/lib.sh
bench_setup
pid=$BENCH_LAST_PID
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
# Warm up: the first requests allocate what every later one reuses.
for _ in $(seq 200); do curl -fsS "$BASE/healthz" >/dev/null; done
before=$(rss)
fifo="$BENCH_WORK/hold"
mkfifo "$fifo"
taskset -c 1 python3 - "${BASE#http://}" "$CONNECTIONS" "$fifo" <<'PY' &
import socket, sys
host, port = sys.argv[1].split(":")
count, fifo = int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(count):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    socks.append(s)
for s in socks:
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
print("open", flush=True)
open(fifo).read()  # hold until told
for s in socks:
    s.close()
PY
client=$!
for _ in $(seq 600); do
  [ "$(ss -Htn state established "( sport = :${BASE##*:} )" | wc -l)" -ge "$CONNECTIONS" ] && break
  sleep 0.1
done
sleep 1
loaded=$(rss)
echo done >"$fifo"
wait "$client"
echo "release build; $CONNECTIONS idle keep-alive connections, each after one request"
printf 'RSS before            %8d KiB\n' "$before"
printf 'RSS with connections  %8d KiB  (%.1f KiB per connection)\n' "$loaded" "$(python3 -c "print(($loaded - $before) / $CONNECTIONS)")"
for second in 10 20 30 40 50 60; do
  sleep 10
  printf 'RSS %2d s after close  %8d KiB\n' "$second" "$(rss)"
done
after=$(rss)
python3 -c "print(f'RSS a minute after / before: {$after / $before:.2f}')"

out=$(taskset -c 1 wrk -t1 -c32 -d"${GET_USER_SECONDS}s" -s bench/get_user_many.lua "$BASE/api/user")
if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; exit 1; fi
calls=$(awk '/requests in/ {print $1}' <<<"$out")
groups=$(redis-cli -u "$REDIS_URL" ZCARD tessera:groups_by_team)
printf 'RSS after %s get-user calls over %s groups: %d KiB\n' "$calls" "$groups" "$(rss)"
