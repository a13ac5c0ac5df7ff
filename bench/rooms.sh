#!/usr/bin/env bash
# Watch-party benchmark: the sync error of real Chromium viewers in one room
# while the host plays, pauses and seeks (p50/p95/max of |video − room| in
# steady state, and how long each command takes to bring everyone within
# 100 ms), chat fan-out latency to simulated members of one big room,
# playback commands to a bigger one (SYNC_MEMBERS, default 1000), the
# server's memory per member online and per idle room (IDLE_ROOMS, default
# 1000), and the offload of a room's fetch plan.
#   bench/rooms.sh [viewers, default 4] [seconds, default 120] [fan-out members, default 500]
# With --browsers, one room of every browser here instead: a Chromium host,
# Chromium, Firefox ESR, WebKitGTK and Chromium on its own HLS as guests;
# time to first frame and sync per browser (web/bench/browsers.ts).
#   bench/rooms.sh --browsers [seconds, default 90]
# Needs: chromium, ffmpeg (--browsers: firefox-esr, geckodriver, webkit2gtk-driver, xvfb too);
# runs in a private network namespace when it can (root).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/browser-bench.sh
if [ "${1:-}" = "--browsers" ]; then
  export SYNC_SECS=${2:-90}
  # geckodriver: on the PATH, or where `cargo install` puts it.
  PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" run_browser_bench bench/browsers.ts firefox-esr geckodriver WebKitWebDriver xvfb-run
  exit
fi
export VIEWERS=${1:-4} SYNC_SECS=${2:-120} FANOUT_MEMBERS=${3:-500}
run_browser_bench bench/room.ts
