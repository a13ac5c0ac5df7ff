#!/usr/bin/env bash
# Builds and starts Cinemesh in the embedded default: one process, a SQLite
# file under ./data, and a demo movie on the first start.
# Needs the Rust toolchain, Node.js with npm, and ffmpeg (for the demo movie
# and for ingesting movies). Extra arguments go to `cinemesh serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "warning: ffmpeg is not installed, so there will be no demo movie (Debian/Ubuntu: sudo apt-get install ffmpeg)" >&2
fi

echo "==> building the web client"
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund)
fi
(cd web && npm run build)

echo "==> building and starting cinemesh (the first build takes a few minutes)"
cargo build --release -p cinemesh-server --bin cinemesh
exec target/release/cinemesh serve "$@"
