#!/usr/bin/env bash
# The watch party across emulated homes (web/bench/lab-party.ts): 6 viewers in
# 6 homes of a network lab (2 full-cone, 2 port-restricted, 2 symmetric NATs),
# a movie with 480p/360p/240p rungs and grain in every frame, a server uplink
# below half of what six viewers need over HTTP. The host plays, pauses, seeks
# 40 s ahead and 20 s back. The page over HTTPS (nginx in front) and at the
# plain-HTTP public address, each with P2P and then with P2P off, in one run.
#   bench/netlab-party.sh [profile, default home-party] [--quick]
# --quick: 60 s of play, HTTPS only, no calibration (about 5 minutes).
# LANGUAGES=en,fr: the movie gets one audio track per language and the homes
# pick them in turn; printed: the origin's copies of each audio segment.
# Needs root, chromium, ffmpeg, coturn, iptables, nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=home-party
quick=false
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) profile=$arg ;;
  esac
done
# Six viewers at the 480p rung (~1.5 Mbit/s) need ~9 Mbit/s over HTTP.
uplink=${SERVER_UPLINK_MBIT:-4}
source bench/lib/lab-bench.sh
if $quick; then
  export PLAY_SECS=60 MOVIE_SECS=100 ORIGINS=https
  run_lab_bench bench/lab-party.ts "$profile" --server-uplink-mbit "$uplink" --no-calibrate
else
  export PLAY_SECS=${PLAY_SECS:-120} MOVIE_SECS=${MOVIE_SECS:-180} ORIGINS=${ORIGINS:-https,http}
  run_lab_bench bench/lab-party.ts "$profile" --server-uplink-mbit "$uplink"
fi
