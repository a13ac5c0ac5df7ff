#!/usr/bin/env bash
# Load-tests the tracker: in-process, Redis, and two instances sharing one
# Redis, side by side in alternating rounds. The servers are pinned to core 0
# (one HTTP worker, one swarm shard each), the load generator to core 1.
# Prints every round's rows, then each row's medians and the CPU per message
# of the Redis modes against in-process, per round and their median.
#   bench/tracker.sh [warm-up seconds, default 10] [steady seconds, default 20] [profiles...]
# ROUNDS (default 3) sets the rounds, MODES the modes (default
# "in-process redis redis-x2"), CONNECTIONS overrides the profiles'
# connections. Needs redis-server and redis-cli.
# SERVER_BIN runs another build of the server (an older one, to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${1:-10}
steady=${2:-20}
shift $(( $# > 2 ? 2 : $# ))
profiles=("${@:-light heavy party}")
read -r -a profiles <<<"${profiles[*]}"
rounds=${ROUNDS:-3}
ulimit -n 65536 2>/dev/null || true

source bench/lib/loadtest-bench.sh
start_loadtest_bench

# A Redis of its own, on core 1 beside the load generator. The machine's
# Redis, free to run on either core, took turns with the tracker on core 0:
# the same party row, with the same Redis calls, cost 20.7, 27.9 and 34.1 µs
# per message in three rounds.
redis_port=$(( 16379 + RANDOM % 1000 ))
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; stop_loadtest_bench' EXIT
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping > /dev/null || { cat "$work/redis.log"; exit 1; }

# Starts one server on core 0 with its data in $1 and Redis at $2 (none: empty);
# adds its pid to $server_pids and its URL to $server_args.
start_server() {
  local data=$1 redis_url=$2 log
  log="$data.$(( ${#server_pids[@]} + 1 ))"
  # Every simulated peer connects from 127.0.0.1: the per-address socket cap is lifted for them.
  CINEMESH_LOG=warn CINEMESH_SERVER_BIND=127.0.0.1:0 CINEMESH_SERVER_WORKERS=1 CINEMESH_TRACKER_SHARDS=1 \
    CINEMESH_SERVER_MAX_CONNECTIONS=1000000 CINEMESH_SERVER_MAX_CONNECTIONS_PER_ADDRESS=1000000 \
    CINEMESH_DEMO_ENABLED=false CINEMESH_STORAGE_DATA_DIR="$data" CINEMESH_STORAGE_REDIS_URL="$redis_url" \
    CINEMESH_STORAGE_REDIS_PREFIX="cinemesh-bench-$$-$(basename "$data"):" CINEMESH_TRACKER_SECRET="bench-secret" \
    taskset -c 0 "${SERVER_BIN:-target/release/cinemesh}" serve > "$log.out" 2> "$log.err" &
  server_pids+=("$!")
  server_pid="${server_pids[*]}"
  for _ in $(seq 1 100); do grep -q "listening on" "$log.out" 2>/dev/null && break; sleep 0.1; done
  local url
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log.out")
  [ -n "$url" ] || { cat "$log.err"; exit 1; }
  server_args+=(--server "$url" --pid "${server_pids[-1]}")
}

# One row: a fresh server (or two) for it, so memory per connection is not
# flattered by memory an earlier run freed. "redis-x2" is two instances on
# one database and one Redis, the viewers dealt to them in turn (so every
# party room spans both); its CPU and memory are the two processes' together.
run_row() {
  local mode=$1 profile=$2 round=$3 data redis_url=""
  data="$work/$mode-$profile-$round"
  mkdir -p "$data"
  [ "$mode" != in-process ] && redis_url="redis://127.0.0.1:$redis_port"
  server_pids=()
  server_args=()
  start_server "$data" "$redis_url"
  # The second starts once the first has made the database.
  [ "$mode" = redis-x2 ] && start_server "$data" "$redis_url"
  [ -n "$redis_url" ] && redis-cli -u "$redis_url" CONFIG RESETSTAT > /dev/null
  taskset -c 1 target/release/cinemesh-loadtest tracker --label "$mode" --profile "$profile" \
    "${server_args[@]}" --database-url "sqlite://$data/cinemesh.db" \
    ${CONNECTIONS:+--connections "$CONNECTIONS"} --warmup-secs "$warmup" --steady-secs "$steady" | tee -a "$work/rows"
  # What the tracker asked of Redis over the whole row (ramp and warm-up
  # included): the swarm reads (hgetall) are what changed-only reading saves.
  if [ -n "$redis_url" ]; then
    redis-cli -u "$redis_url" INFO commandstats |
      sed -n 's/^cmdstat_\(hgetall\|get\|hset\|hdel\|incrby\|publish\):calls=\([0-9]*\).*/\1 \2/p' |
      tr '\n' ' ' | sed "s/^/$mode $profile Redis calls: /; s/ \$/\n/"
  fi
  kill "${server_pids[@]}"; wait "${server_pids[@]}" 2>/dev/null || true; server_pid=""
}

format='%-10s %-7s %6s %9s %9s %10s %9s %8s %7s %8s %7s %7s %7s\n'
# Written out: printf would count the two bytes of "µ" as two columns.
header() {
  echo "mode       profile  conns      in/s     out/s  delivered   dropped   µs/msg    cpu% KiB/conn  p50 ms  p90 ms  p99 ms"
}

# The median of the numbers on stdin.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Column $3 of the rows of mode $1 and profile $2, one per round.
column() {
  awk -v mode="$1" -v profile="$2" -v c="$3" 'NF == 13 && $1 == mode && $2 == profile { print $c }' "$work/rows"
}

read -r -a modes <<<"${MODES:-in-process redis redis-x2}"
header
for round in $(seq 1 "$rounds"); do
  # Alternating: every mode and profile once per round.
  for mode in "${modes[@]}"; do
    for profile in "${profiles[@]}"; do
      run_row "$mode" "$profile" "$round"
    done
  done
done

echo
echo "median of $rounds rounds:"
header
for mode in "${modes[@]}"; do
  for profile in "${profiles[@]}"; do
    values=("$mode" "$profile")
    for c in $(seq 3 13); do values+=("$(column "$mode" "$profile" "$c" | median)"); done
    # shellcheck disable=SC2059
    printf "$format" "${values[@]}"
  done
done
echo
for mode in redis redis-x2; do
  [[ " ${modes[*]} " == *" $mode "* && " ${modes[*]} " == *" in-process "* ]] || continue
  for profile in "${profiles[@]}"; do
    ratios=$(paste <(column "$mode" "$profile" 8) <(column in-process "$profile" 8) | awk '{ printf "%.2f\n", $1 / $2 }')
    echo "$mode vs in-process, $profile: CPU per message $(echo "$ratios" | median)x (rounds: $(echo "$ratios" | tr '\n' ' ' | sed 's/ $//'))"
  done
done
