#!/usr/bin/env bash
# Data channel throughput between two browsers in two homes of the network lab,
# over 1, 2 and 3 peer connections at once and over 3 channels of one
# connection, alternating in one run (web/bench/datachannel.ts).
#   bench/datachannel.sh [profile, default home-party] [homes, default full-cone,full-cone]
# Needs root, chromium, coturn, iptables, nginx (see bench/lib/lab-bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/lab-bench.sh
run_lab_bench bench/datachannel.ts "${1:-home-party}" --homes "${2:-full-cone,full-cone}" --no-calibrate
