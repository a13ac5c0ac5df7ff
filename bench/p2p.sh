#!/usr/bin/env bash
# P2P offload in real browsers: N viewers of a movie join STAGGER_SECS apart
# and each watches SESSION_SECS, with the P2P loader and then with P2P off
# (hls.js as it comes, same buffer). Prints per-viewer bytes by source,
# downloaded/played, time to first frame and stalls, and the origin's bytes
# (the segment server's counter) for both, on a 2-minute and a 10-minute movie.
#   bench/p2p.sh [viewers, default 6] [seconds per session, default 70] [movie lengths, default 120,600]
# Needs: chromium, ffmpeg (apt-get install chromium ffmpeg); runs in a private
# network namespace when it can (root), on loopback otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export VIEWERS=${1:-6} SESSION_SECS=${2:-70} MOVIE_SECS=${3:-120,600} STAGGER_SECS=${STAGGER_SECS:-10}
source bench/lib/browser-bench.sh
run_browser_bench bench/swarm.ts
