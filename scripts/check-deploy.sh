#!/usr/bin/env bash
# Checks the deployment files without a container engine: docker-compose.yml
# is valid (Debian's docker-compose parses it), and every build command in
# the Dockerfile is one that scripts/start.sh (the README's start command)
# runs too, so the image is built the way people build it by hand; and the
# image's two targets (built in the image, or prebuilt on the host) differ in
# nothing but the files they copy onto one runtime stage, so the one
# scripts/compose-test.sh runs has the packages, user, entrypoint and health
# check users get.
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

# Every instruction of a stage built FROM runtime is a COPY, and both targets are.
targets=$(sed -n 's/^FROM runtime AS \([a-z]*\)$/\1/p' Dockerfile | sort | tr '\n' ' ')
if [ "$targets" != "built prebuilt " ]; then
  echo "Dockerfile: expected the targets built and prebuilt on the runtime stage, found: $targets" >&2
  status=1
fi
extra=$(awk '/^FROM /{on = ($2 == "runtime")} on && !/^FROM / && !/^COPY / && NF' Dockerfile)
if [ -n "$extra" ]; then
  echo "Dockerfile: the targets on the runtime stage do more than copy files: $extra" >&2
  status=1
else
  echo "Dockerfile: targets built and prebuilt share the runtime stage and only copy files"
fi
exit "$status"
