#!/usr/bin/env bash
# Load-tests the tracker, in-process and Redis mode side by side in one run:
# the server pinned to core 0 (one HTTP worker, one swarm shard), the load
# generator pinned to core 1, every profile (light, heavy, party).
#   bench/tracker.sh [warm-up seconds, default 10] [steady seconds, default 20] [profiles...]
# Needs Redis on 127.0.0.1:6379 for the Redis rows (scripts/services.sh starts it).
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${1:-10}
steady=${2:-20}
shift $(( $# > 2 ? 2 : $# ))
profiles=("${@:-light heavy party}")
read -r -a profiles <<<"${profiles[*]}"
ulimit -n 65536 2>/dev/null || true

source bench/lib/loadtest-bench.sh
start_loadtest_bench

header=--header
# A fresh server for every row, so memory per connection is not flattered by
# memory an earlier run freed.
for mode in in-process redis; do
  for profile in "${profiles[@]}"; do
    data="$work/$mode-$profile"
    mkdir -p "$data"
    redis_url=""
    [ "$mode" = redis ] && redis_url="redis://127.0.0.1:6379"
    # Every simulated peer connects from 127.0.0.1: the per-address socket cap is lifted for them.
    CINEMESH_LOG=warn CINEMESH_SERVER_BIND=127.0.0.1:0 CINEMESH_SERVER_WORKERS=1 CINEMESH_TRACKER_SHARDS=1 \
      CINEMESH_SERVER_MAX_CONNECTIONS=1000000 CINEMESH_SERVER_MAX_CONNECTIONS_PER_ADDRESS=1000000 \
      CINEMESH_DEMO_ENABLED=false CINEMESH_STORAGE_DATA_DIR="$data" CINEMESH_STORAGE_REDIS_URL="$redis_url" \
      CINEMESH_STORAGE_REDIS_PREFIX="cinemesh-bench-$$:" CINEMESH_TRACKER_SECRET="bench-secret" \
      taskset -c 0 target/release/cinemesh serve > "$data.out" 2> "$data.err" &
    server_pid=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$data.out" 2>/dev/null && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$data.out")
    [ -n "$url" ] || { cat "$data.err"; exit 1; }
    taskset -c 1 target/release/cinemesh-loadtest tracker $header --label "$mode" --profile "$profile" \
      --server "$url" --database-url "sqlite://$data/cinemesh.db" --pid "$server_pid" \
      --warmup-secs "$warmup" --steady-secs "$steady"
    header=""
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  done
done
