#!/usr/bin/env bash
# Watch-party benchmark: the sync error of real Chromium viewers in one room
# while the host plays, pauses and seeks (p50/p95/max of |video − room| in
# steady state, and how long each command takes to bring everyone within
# 100 ms), and chat fan-out latency to simulated members of one big room.
#   bench/rooms.sh [viewers, default 4] [seconds, default 120] [fan-out members, default 500]
# Needs: chromium, ffmpeg; runs in a private network namespace when it can (root).
set -euo pipefail
cd "$(dirname "$0")/.."
export VIEWERS=${1:-4} SYNC_SECS=${2:-120} FANOUT_MEMBERS=${3:-500}
for tool in chromium ffmpeg; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y chromium ffmpeg" >&2; exit 1; }
done
cargo build --release --quiet -p cinemesh-server --bin cinemesh
export CINEMESH_BIN="$PWD/target/release/cinemesh"
(cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build --silent)
cd web
run=(npx vitest run --config vitest.bench.config.ts bench/room.ts)
if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
  NO_COLOR=1 unshare -n bash -c 'ip link set lo up && exec "$@"' bash "${run[@]}"
else
  NO_COLOR=1 "${run[@]}"
fi
