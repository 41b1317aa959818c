# Shared by the load harnesses: a release build, a private redis-server and
# tessera on loopback (pinned to core 0), and wrk runs on core 1 that fail
# on any non-2xx answer. Source it; call bench_setup first.

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait() { # URL: waits up to BENCH_WAIT_TRIES x 50 ms (default 10 s) for URL to answer
  for _ in $(seq "${BENCH_WAIT_TRIES:-200}"); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "not ready: $1" >&2
  return 1
}

bench_redis() { # starts a private redis-server on core 0; sets REDIS_PORT and REDIS_URL once it answers
  REDIS_PORT=$(bench_free_port)
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$BENCH_WORK" >/dev/null &
  BENCH_PIDS+=($!)
  bench_wait_redis "$REDIS_PORT"
}

bench_wait_redis() { # PORT: waits up to 10 s for the redis-server there to answer
  for _ in $(seq 200); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "redis-server not ready on $1" >&2
  return 1
}

bench_setup() { # starts a private Redis and tessera on it
  bench_build
  bench_redis
  bench_serve TESSERA_REDIS_URL="$REDIS_URL"
}

bench_build() {
  cargo build --release --quiet --bin tessera --example renderer --example floor
  BENCH_WORK=$(mktemp -d)
  BENCH_PIDS=()
  trap 'kill "${BENCH_PIDS[@]}" 2>/dev/null || true; rm -rf "$BENCH_WORK"' EXIT
  export TESSERA_BENCH_KEY="bench-operator-key-0123456789abcdef"
  # One KEK for every instance a harness starts on one store.
  TESSERA_KEK=$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
  export TESSERA_KEK
}

bench_serve() { # VAR=value... : starts tessera on core 0 with that store; sets PORT and BASE
  # (BENCH_WRAP, if set, is a command tessera runs under, such as valgrind)
  PORT=$(bench_free_port)
  BASE="http://127.0.0.1:$PORT"
  local dir
  dir=$(mktemp -d -p "$BENCH_WORK")
  # Rate limits off: the harness is one client on purpose.
  # The caller's settings come last, so they win over these defaults.
  env TESSERA_API_KEY="$TESSERA_BENCH_KEY" TESSERA_ISSUER="${BENCH_ISSUER:-$BASE}" \
    TESSERA_RATE_LIMIT_ADMIN=0 TESSERA_RATE_LIMIT_CLIENT=0 \
    TESSERA_LISTEN="127.0.0.1:$PORT" TESSERA_KEYS_DIR="$dir/keys" TESSERA_DATA_DIR="$dir/data" RUST_LOG=warn "$@" \
    taskset -c 0 ${BENCH_WRAP:-} "${TESSERA_BIN:-target/release/tessera}" >"$dir/out" 2>"$dir/err" &
  BENCH_PIDS+=($!)
  BENCH_LAST_PID=$!
  bench_wait "$BASE/readyz" || { cat "$dir/err" >&2; return 1; }
}

bench_start_own() { # NAME BINARY: a private Redis and that tessera on it; sets BASE_<NAME> and TOKEN_<NAME>
  local REDIS_PORT REDIS_URL
  bench_redis
  TESSERA_BIN=$2 bench_serve TESSERA_REDIS_URL="$REDIS_URL"
  printf -v "BASE_$1" '%s' "$BASE"
  printf -v "TOKEN_$1" '%s' "$(bench_token)"
}

bench_get_user() { # prints the response of a get-user call for example_1
  curl -fsS -X POST "$BASE/api/user" -H 'Content-Type: application/json' \
    -H "Authorization: Token $TESSERA_BENCH_KEY" \
    -d '{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'
}

bench_token() { # prints the token of a get-user call for example_1
  bench_get_user | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_group"]["token"])'
}

bench_run() { # NAME wrk-args...
  local name=$1; shift
  local out rps p50 p99
  out=$(taskset -c 1 wrk -t1 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" --latency "$@")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$name: non-2xx answers, run rejected" >&2
    echo "$out" >&2
    exit 1
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-36s %10s req/s   p50 %8s   p99 %8s\n' "$name" "$rps" "$p50" "$p99"
  BENCH_RPS=$rps
  BENCH_P50=$(bench_ms "$p50")
  BENCH_P99=$(bench_ms "$p99")
}

bench_ms() { # a wrk duration (812.00us, 1.20ms, 2.01s) in milliseconds
  python3 -c "import re,sys; n,u=re.fullmatch(r'([0-9.]+)(us|ms|s|m)',sys.argv[1]).groups(); print(float(n)*{'us':0.001,'ms':1,'s':1000,'m':60000}[u])" "$1"
}

bench_floor() { # starts the floor server (examples/floor.rs) on core 0 on $REDIS_URL (under BENCH_WRAP
  # if set); sets FLOOR, FLOOR_TOKEN and BENCH_LAST_PID
  local port
  port=$(bench_free_port)
  FLOOR="http://127.0.0.1:$port"
  FLOOR_LISTEN="127.0.0.1:$port" FLOOR_REDIS_URL="$REDIS_URL" \
    taskset -c 0 ${BENCH_WRAP:-} target/release/examples/floor >/dev/null 2>&1 &
  BENCH_PIDS+=($!)
  BENCH_LAST_PID=$!
  bench_wait "$FLOOR/hello"
  FLOOR_TOKEN=$(curl -fsS "$FLOOR/token")
}

bench_ratio() { # NAME RATE FLOOR_RATE: prints RATE / FLOOR_RATE
  python3 -c "import sys; print(f'{sys.argv[1]:<52} {float(sys.argv[2]) / float(sys.argv[3]):.3f}')" "$1" "$2" "$3"
}

bench_renderer() { # SERVICE_URL CACHE TOKEN: a renderer (examples/renderer.rs) on core 0 behind the
  # middleware, keys from the service's JWKS, its token cache of CACHE entries; sets RENDERER once it
  # answers TOKEN
  local port
  port=$(bench_free_port)
  TESSERA_URL=$1 RENDERER_LISTEN="127.0.0.1:$port" RENDERER_TOKEN_CACHE=$2 RUST_LOG=warn \
    taskset -c 0 target/release/examples/renderer >/dev/null 2>&1 &
  BENCH_PIDS+=($!)
  RENDERER="http://127.0.0.1:$port"
  for _ in $(seq 200); do
    curl -fsS -H "Authorization: Bearer $3" "$RENDERER/dashboard" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "renderer not ready: $RENDERER" >&2
  return 1
}
