#!/usr/bin/env bash
# P2P offload in real browsers: N viewers of a movie join STAGGER_SECS apart
# and each watches SESSION_SECS, with the P2P loader and then with P2P off
# (hls.js as it comes, same buffer). Prints per-viewer bytes by source,
# downloaded/played, time to first frame and stalls, and the origin's bytes
# (the segment server's counter) for both, on a 2-minute and a 10-minute movie.
#   bench/p2p.sh [viewers, default 6] [seconds per session, default 70] [movie lengths, default 120,600]
#   bench/p2p.sh --lab PROFILE [viewers, default 4] [seconds, default 70] [movie lengths, default 120]
# --lab runs it in the network lab (services/netlab), viewer i in home i, once
# with viewers joining 10 s apart and once starting together.
# Needs: chromium, ffmpeg (apt-get install chromium ffmpeg); runs in a private
# network namespace when it can (root), on loopback otherwise. --lab needs root,
# coturn, iptables, nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--lab" ]; then
  profile=${2:?--lab needs a profile (netlab profiles)}
  export VIEWERS=${3:-4} SESSION_SECS=${4:-70} MOVIE_SECS=${5:-120} STAGGER_SECS=${STAGGER_SECS:-10,0}
  source bench/lib/lab-bench.sh
  run_lab_bench bench/swarm.ts "$profile"
  exit
fi
export VIEWERS=${1:-6} SESSION_SECS=${2:-70} MOVIE_SECS=${3:-120,600} STAGGER_SECS=${STAGGER_SECS:-10}
source bench/lib/browser-bench.sh
run_browser_bench bench/swarm.ts
