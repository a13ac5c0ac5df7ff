#!/usr/bin/env bash
# Audits what the web client ships (hls.js and what it pulls in) against the npm
# registry's advisories, failing on a high or critical finding. Development tools
# never reach a browser, so they are not part of the verdict. Where the
# registry's advisory endpoint cannot be reached (an offline mirror answers 405),
# says so and does not fail: there is nothing to check against.
set -euo pipefail
cd "$(dirname "$0")/../web"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if npm audit --omit=dev --audit-level=high >"$out" 2>&1; then
  tail -n 1 "$out"
elif grep -q "audit endpoint returned an error" "$out"; then
  echo "warning: npm audit skipped: the registry's advisory endpoint is unreachable ($(grep -o '[0-9]\{3\} [A-Za-z ]*' "$out" | head -n 1))"
else
  cat "$out"
  exit 1
fi
