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
source bench/lib/browser-bench.sh
run_browser_bench bench/room.ts
