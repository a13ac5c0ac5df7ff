#!/usr/bin/env bash
# Makes the test clip of audio and subtitle tracks (see testdata/tracks/README.md):
# a 640x360 test pattern of SECONDS (default 10), a 440 Hz tone tagged `eng`
# and a 660 Hz tone tagged `fre` (the default), and three subtitle tracks:
# en.srt (eng), fr.srt (fra) and styled.ass (untagged, titled "Styled" + BEL + " signs").
# Usage: scripts/make-tracks-clip.sh OUT.mkv [SECONDS]
set -euo pipefail
out=${1:?usage: make-tracks-clip.sh OUT.mkv [SECONDS]}
seconds=${2:-10}
data="$(cd "$(dirname "$0")/../testdata/tracks" && pwd)"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25:duration=$seconds" \
  -f lavfi -i "sine=frequency=440:duration=$seconds" \
  -f lavfi -i "sine=frequency=660:duration=$seconds" \
  -i "$data/en.srt" -i "$data/fr.srt" -i "$data/styled.ass" \
  -map 0:v -map 1:a -map 2:a -map 3:s -map 4:s -map 5:s \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -c:s:0 srt -c:s:1 srt -c:s:2 ass \
  -metadata:s:a:0 language=eng -metadata:s:a:1 language=fre \
  -disposition:a:0 0 -disposition:a:1 default \
  -metadata:s:s:0 language=eng -metadata:s:s:1 language=fra \
  -metadata:s:s:2 "title=Styled$(printf '\a') signs" \
  "$out"
