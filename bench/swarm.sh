#!/usr/bin/env bash
# Swarm simulation: native WebRTC peers (the seeder's peer, on the webrtc
# crate) watching one movie together over loopback against a real server,
# one row per swarm size. Each viewer joins `join-every` after the previous
# one, watches 60 s from the start (every fifth seeks to the middle halfway),
# takes what is due within 4 s over HTTP and asks peers for what is due 4 to
# 16 s ahead. Columns: offload (bytes from peers), origin bytes in viewers'
# worth (without P2P it equals the number of viewers), time from joining to
# the first segment from a peer (p50/p95), upload per peer (p50/max), tracker
# messages, failed connections, segments refused, viewers that stalled.
#   bench/swarm.sh [sizes, default "50 200"]
# Needs: ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-50 200}")
read -r -a sizes <<<"${sizes[*]}"

source bench/lib/loadtest-bench.sh
start_loadtest_bench

ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
  -t 180 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"
# Every simulated peer connects from 127.0.0.1: the per-address socket cap is lifted for them.
export CINEMESH_LOG=warn CINEMESH_DEMO_ENABLED=false CINEMESH_STORAGE_DATA_DIR="$work/data" \
  CINEMESH_INGEST_X264_PRESET=ultrafast CINEMESH_TRACKER_ICE_SERVERS='[]' \
  CINEMESH_SERVER_MAX_CONNECTIONS_PER_ADDRESS=100000
movie=$(target/release/cinemesh ingest "$work/clip.mp4" --title "Swarm bench" 2>/dev/null | sed -n 's/.* as movie //p')
# The server on core 0, the peers on core 1 (with a core each they would not share).
CINEMESH_SERVER_BIND=127.0.0.1:0 taskset -c 0 target/release/cinemesh serve > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
  address=$(sed -n 's/^cinemesh listening on //p' "$work/server.out")
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "${address:-}" ] || { cat "$work/server.err"; exit 1; }

header=--header
for peers in "${sizes[@]}"; do
  # The ramp takes 100 s whatever the size: the swarm is spread over the movie alike.
  join_every=$(( 100000 / peers ))
  taskset -c 1 target/release/cinemesh-loadtest swarm --server "$address" --movie "$movie" \
    --peers "$peers" --join-every-ms "$join_every" --watch-secs 60 $header
  header=
done
