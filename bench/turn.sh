#!/usr/bin/env bash
# Relayed calls through the server's own TURN and through coturn, side by
# side in one run: `rounds` times each, alternating, the server pinned to
# core 0 and the load generator to core 1. Each row is `pairs` call pairs,
# each side sending `kbps` to the other relay to relay (1200-byte datagrams),
# as two browsers behind symmetric NATs do, on loopback (relaying to
# 127.0.0.0/8 is allowed for the run: both servers refuse it by default).
#   bench/turn.sh [pairs, default 10] [kbps, default 1500] [rounds, default 2] [steady seconds, default 20]
# Needs coturn (apt-get install coturn).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-10}
kbps=${2:-1500}
rounds=${3:-2}
steady=${4:-20}
command -v turnserver >/dev/null || { echo "missing turnserver (apt-get install coturn)" >&2; exit 1; }

source bench/lib/loadtest-bench.sh
start_loadtest_bench
secret="turn-bench-secret"
port=3578

start_embedded() {
  local data="$work/embedded-$1"
  mkdir -p "$data"
  # Without a rate cap: the run measures the relay, not the cap.
  CINEMESH_LOG=warn CINEMESH_SERVER_BIND=127.0.0.1:0 CINEMESH_SERVER_WORKERS=1 CINEMESH_DEMO_ENABLED=false \
    CINEMESH_STORAGE_DATA_DIR="$data" CINEMESH_TRACKER_TURN_SECRET="$secret" \
    CINEMESH_TURN_RELAY=true CINEMESH_TURN_LISTEN="127.0.0.1:$port" CINEMESH_TURN_RELAY_BYTES_PER_SEC=0 \
    CINEMESH_TURN_MAX_ALLOCATIONS=1000 CINEMESH_TURN_ALLOCATIONS_PER_USER=8 \
    CINEMESH_TURN_ALLOWED_PEER_RANGES='["127.0.0.0/8"]' \
    taskset -c 0 target/release/cinemesh serve > "$data.out" 2> "$data.err" &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$data.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$data.out" || { cat "$data.err"; exit 1; }
}

start_coturn() {
  local data="$work/coturn-$1"
  mkdir -p "$data"
  taskset -c 0 turnserver -n --no-cli --no-tls --no-dtls --log-file stdout --simple-log \
    --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$port" --min-port 49152 --max-port 65535 \
    --realm cinemesh --use-auth-secret --static-auth-secret "$secret" --allow-loopback-peers --no-multicast-peers \
    --relay-threads 1 --pidfile "$data/turnserver.pid" --userdb "$data/turndb" > "$data.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q "Total General servers" "$data.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "Total General servers" "$data.out" || { cat "$data.out"; exit 1; }
}

echo "turn: $pairs call pairs at $kbps kbit/s each way, relay to relay on loopback, $steady s per row"
header=--header
for round in $(seq 1 "$rounds"); do
  for server in embedded coturn; do
    "start_$server" "$round"
    taskset -c 1 target/release/cinemesh-loadtest turn $header --label "$server" --server "127.0.0.1:$port" \
      --secret "$secret" --pid "$server_pid" --pairs "$pairs" --kbps "$kbps" --steady-secs "$steady" | tee -a "$work/rows"
    header=""
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  done
done

# The summary: each server's mean over its rows (columns: packets/s, Mbit/s, loss %, CPU %, CPU ms/Mbit).
awk -v pairs="$pairs" -v kbps="$kbps" '
  $1 == "embedded" || $1 == "coturn" { n[$1]++; mbit[$1] += $4; loss[$1] += $5; cpu[$1] += $7 }
  END {
    if (n["embedded"] == 0 || n["coturn"] == 0) exit 1
    e = cpu["embedded"] / n["embedded"]; c = cpu["coturn"] / n["coturn"]
    printf "turn: %d pairs at %d kbit/s: embedded %.2f Mbit/s, %.2f %% loss, %.2f CPU ms/Mbit; coturn %.2f Mbit/s, %.2f %% loss, %.2f CPU ms/Mbit; CPU per Mbit %.2fx coturn\n",
      pairs, kbps, mbit["embedded"] / n["embedded"], loss["embedded"] / n["embedded"], e,
      mbit["coturn"] / n["coturn"], loss["coturn"] / n["coturn"], c, e / c
  }' "$work/rows"
