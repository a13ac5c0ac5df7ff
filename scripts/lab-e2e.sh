#!/usr/bin/env bash
# The watch party across emulated homes (web/e2e/lab-party.test.ts), which
# homes reach each other (web/e2e/lab-nat-pairs.test.ts) and a home renumbered
# mid-call (web/e2e/lab-renumber.test.ts: the home keeps its new address,
# which the other files do not mind);
# or the test files named as arguments (paths under web/). Builds a network lab
# (services/netlab) with five homes behind a full-cone, two port-restricted and
# two symmetric NATs on the home-party profile with 1 % loss (the party takes
# the first three), runs the tests inside the lab's server host, and takes the
# lab down again, also when a test fails or the script is interrupted.
# Needs root, iproute2, iptables, NFQUEUE, coturn and Chromium; says what is
# missing and skips otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" != "0" ]; then
  echo "skipped: the network lab needs root"
  exit 0
fi
for tool in turnserver chromium iptables; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install coturn chromium iptables)" >&2; exit 1; }
done
cargo build --quiet -p cinemesh-netlab --bin netlab
netlab="$root/target/debug/netlab"
run_id=$(printf '%04x' $((RANDOM % 65536)))
trap '"$netlab" down --run-id "$run_id" >/dev/null 2>&1 || true' EXIT INT TERM
"$netlab" up home-party --homes full-cone,port-restricted,symmetric,port-restricted,symmetric --run-id "$run_id" --detach
for home in home1 home2 home3 home4 home5; do
  "$netlab" link --run-id "$run_id" "$home" delay --rtt-ms 40 --jitter-ms 5 --loss-pct 1
done
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(e2e/lab-party.test.ts e2e/lab-nat-pairs.test.ts e2e/lab-renumber.test.ts)
cd web
"$netlab" exec --run-id "$run_id" server -- env NO_COLOR=1 NETLAB_RUN_ID="$run_id" NETLAB_BIN="$netlab" \
  CINEMESH_BIN="$root/target/debug/cinemesh" npx vitest run --config vitest.e2e.config.ts "${files[@]}"
