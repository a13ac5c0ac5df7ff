#!/usr/bin/env bash
# Checks the deployment files without a container engine: docker-compose.yml
# is valid (Debian's docker-compose parses it), and every build command in
# the Dockerfile is one that scripts/start.sh (the README's start command)
# runs too, so the image is built the way people build it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v docker-compose >/dev/null || { echo "missing docker-compose: apt-get install -y docker-compose" >&2; exit 1; }
docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml: valid"

status=0
while IFS= read -r command; do
  if grep -qF -- "$command" scripts/start.sh; then
    echo "Dockerfile builds with: $command"
  else
    echo "Dockerfile runs '$command', which scripts/start.sh does not" >&2
    status=1
  fi
done < <(sed -n 's/^RUN \(\(cargo\|npm\) .*\)$/\1/p' Dockerfile)
exit "$status"
