#!/usr/bin/env bash
# Checks the deployment files without a container engine: docker-compose.yml
# is valid (Debian's docker-compose parses it), and so is it with the nginx
# alternative (deploy/nginx.compose.yml), and every build command in
# the Dockerfile is one that scripts/start.sh (the README's start command)
# runs too, or that the README gives (the native seeder's), so the image is
# built the way people build it by hand; and the
# image's two targets (built in the image, or prebuilt on the host) differ in
# nothing but the files they copy onto one runtime stage, so the one
# scripts/compose-test.sh runs has the packages, user, entrypoint and health
# check users get.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v docker-compose >/dev/null || { echo "missing docker-compose: apt-get install -y docker-compose" >&2; exit 1; }
docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml: valid"
# The nginx alternative replaces the proxy's image and configuration.
nginx_proxy=$(docker-compose -f docker-compose.yml -f deploy/nginx.compose.yml config | sed -n '/^  proxy:/,/^  [a-z]/p')
if grep -q "image: nginx:" <<<"$nginx_proxy" && grep -q "deploy/nginx.conf:/etc/nginx/nginx.conf:ro" <<<"$nginx_proxy"; then
  echo "deploy/nginx.compose.yml: the proxy becomes nginx on deploy/nginx.conf"
else
  echo "deploy/nginx.compose.yml does not make the proxy nginx on deploy/nginx.conf" >&2
  exit 1
fi

status=0
while IFS= read -r command; do
  if grep -qF -- "$command" scripts/start.sh; then
    echo "Dockerfile builds with: $command"
  elif grep -qE -- "^$command( |$)" README.md; then
    echo "Dockerfile builds with: $command (the README's)"
  else
    echo "Dockerfile runs '$command', which neither scripts/start.sh nor the README does" >&2
    status=1
  fi
done < <(sed -n 's/^RUN \(\(cargo\|npm\) .*\)$/\1/p' Dockerfile)

# Every instruction of a stage built FROM runtime is a COPY (or the ARG naming
# what it copies), and both targets are.
targets=$(sed -n 's/^FROM runtime AS \([a-z]*\)$/\1/p' Dockerfile | sort | tr '\n' ' ')
if [ "$targets" != "built prebuilt " ]; then
  echo "Dockerfile: expected the targets built and prebuilt on the runtime stage, found: $targets" >&2
  status=1
fi
extra=$(awk '/^FROM /{on = ($2 == "runtime")} on && !/^FROM / && !/^COPY / && !/^ARG / && NF' Dockerfile)
if [ -n "$extra" ]; then
  echo "Dockerfile: the targets on the runtime stage do more than copy files: $extra" >&2
  status=1
else
  echo "Dockerfile: targets built and prebuilt share the runtime stage and only copy files"
fi
exit "$status"
