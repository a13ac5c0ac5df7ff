#!/usr/bin/env bash
# `docker compose up` for real: builds the images, starts the stack of
# docker-compose.yml with a real Docker engine, and drives it from outside as
# users do (web/compose/stack.test.ts: the catalog and a movie through the
# proxy, a room across both instances, an instance stopped mid-party, down
# and up again, the logs). The proxy is Caddy serving HTTPS with its internal
# CA, which the test trusts (curl, Node and Chromium) and nothing else does.
#
# - Uses the running engine (DOCKER_HOST or the default socket), or starts one
#   in a temporary folder and stops it at the end (needs root).
# - When the images the compose file names cannot be pulled (no registry
#   reachable), builds stand-ins from Debian's packages on a debootstrapped
#   base (deploy/standins/) and points the compose file at them.
# - The cinemesh image is the Dockerfile's `prebuilt` target: the binaries and
#   web client built here with the README's own commands (debug binaries unless
#   COMPOSE_PROFILE=release).
# - Prints how long each step took; removes the containers, volumes, networks
#   and images it made, and the engine's folder, even when a step fails;
#   `--keep` leaves it all running instead, and prints how to drive it again.
set -euo pipefail
keep=false
[ "${1:-}" = "--keep" ] && keep=true
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d /tmp/cinemesh-compose.XXXXXX)
project="cinemesh-test-$$"
engine_pid=""
made_images=()
step_name=""
step_started=0
proxy_url=""
instances=""
compose_line=""

step() {
  end_step
  step_name="$*"
  step_started=$(date +%s)
  printf '\n==> compose: %s\n' "$step_name"
}
end_step() {
  if [ -n "$step_name" ]; then
    printf '    (%s: %d s)\n' "$step_name" "$(($(date +%s) - step_started))"
  fi
  step_name=""
}

# The images and the proxy's ports go to the compose file's own variables, in an env file.
# The seeder profile is on, so that `down` takes the seeder too.
compose() { "${compose_cmd[@]}" -p "$project" --env-file "$work/compose.env" -f docker-compose.yml -f "$work/test.yml" --profile seeder "$@"; }

cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ -n "$step_name" ]; then
    echo "compose test FAILED in step: $step_name" >&2
    if [ -n "${compose_cmd[*]:-}" ] && [ -f "$work/test.yml" ]; then
      compose ps >&2 || true
      compose logs --no-color --tail 40 >&2 || true
    fi
  fi
  step_name=""
  if $keep; then
    echo
    echo "==> compose: kept running (--keep). Drive it again from web/ with:"
    echo "  DOCKER_HOST=${DOCKER_HOST:-} CINEMESH_COMPOSE_PROXY=$proxy_url CINEMESH_COMPOSE_INSTANCES=$instances CINEMESH_COMPOSE='$compose_line' CINEMESH_COMPOSE_BROWSER_HOME=$work/browser-home NODE_EXTRA_CA_CERTS=$work/proxy-root.crt npx vitest run --config vitest.compose.config.ts"
    echo "  and take it down with: DOCKER_HOST=${DOCKER_HOST:-} $compose_line down --volumes; kill $engine_pid; rm -rf $work"
    exit "$status"
  fi
  echo
  echo "==> compose: cleaning up"
  if [ -n "${compose_cmd[*]:-}" ] && [ -f "$work/test.yml" ]; then
    compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  fi
  for image in "${made_images[@]}"; do docker rmi -f "$image" >/dev/null 2>&1 || true; done
  if [ -n "$engine_pid" ]; then
    kill "$engine_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.2; done
    # vfs layers and container folders can hold mounts until the engine is gone.
    grep " $work/engine" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "tools"
for tool in docker cargo npm curl python3 openssl certutil; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y docker.io docker-compose debootstrap libnss3-tools)" >&2; exit 1; }
done
if docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose_cmd=(docker-compose)
else
  echo "missing docker compose: apt-get install -y docker-compose" >&2
  exit 1
fi
echo "compose: ${compose_cmd[*]}"

step "engine"
if docker info >/dev/null 2>&1; then
  echo "using the running engine ($(docker info --format '{{.ServerVersion}}'))"
else
  if [ "$(id -u)" != 0 ]; then
    echo "skipped: no Docker engine is running, and starting one needs root"
    exit 0
  fi
  command -v dockerd >/dev/null || { echo "missing dockerd: apt-get install -y docker.io" >&2; exit 1; }
  mkdir -p "$work/engine"
  # Only vfs works on these machines (no overlay); everything stays in $work.
  # Nothing outside it either: no docker0 bridge, no iptables rules, no
  # forwarding switched on (builds use the host's network, published ports go
  # through docker-proxy, and the stack's own bridge goes with `down`).
  dockerd --storage-driver vfs --data-root "$work/engine/root" --exec-root "$work/engine/exec" \
    -H "unix://$work/engine/docker.sock" --pidfile "$work/engine/pid" \
    --bridge none --iptables=false --ip-forward=false --ip-masq=false >"$work/engine/log" 2>&1 &
  engine_pid=$!
  export DOCKER_HOST="unix://$work/engine/docker.sock"
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 "$work/engine/log" >&2; exit 1; }
  echo "started dockerd $(docker info --format '{{.ServerVersion}}') in $work/engine"
fi
# The classic builder: the one every engine and CLI here has. Builds reach
# Debian's mirror through the host's network (the engine may have no NAT).
export DOCKER_BUILDKIT=0
build() { docker build -q --network host "$@" >/dev/null; }

step "base images"
# What docker-compose.yml names, or stand-ins from Debian's packages.
pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }
if pull debian:bookworm-slim && pull postgres:16 && pull redis:7 && pull caddy:2 && pull coturn/coturn:4.6; then
  runtime_base=debian:bookworm-slim
  echo "pulled the compose file's images"
else
  command -v debootstrap >/dev/null || { echo "no registry reachable and debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
  runtime_base=cinemesh-test/debian:bookworm
  debootstrap --variant=minbase bookworm "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$runtime_base" >/dev/null
  made_images+=("$runtime_base")
  rm -rf "$work/rootfs"
  for standin in postgres:15 redis:7.0 caddy:2.6 coturn:4.6; do
    name=${standin%%:*}
    build --build-arg "BASE_IMAGE=$runtime_base" -t "cinemesh-standin/$standin" -f "deploy/standins/$name.Dockerfile" deploy/standins
    made_images+=("cinemesh-standin/$standin")
  done
  {
    echo "CINEMESH_POSTGRES_IMAGE=cinemesh-standin/postgres:15"
    echo "CINEMESH_REDIS_IMAGE=cinemesh-standin/redis:7.0"
    echo "CINEMESH_CADDY_IMAGE=cinemesh-standin/caddy:2.6"
    echo "CINEMESH_COTURN_IMAGE=cinemesh-standin/coturn:4.6"
  } >>"$work/compose.env"
  echo "no registry: stand-ins built on a debootstrapped bookworm (PostgreSQL 15, Redis 7.0, Caddy 2.6, coturn 4.6)"
fi

# Debug builds by default: a test run has built them already (scripts/test.sh),
# and the server's and seeder's release builds from scratch took longer than
# the rest of this test. COMPOSE_PROFILE=release packages release builds, as
# the image's default target and the README's commands make them.
profile=${COMPOSE_PROFILE:-debug}
case "$profile" in
  debug) profile_flag=() ;;
  release) profile_flag=(--release) ;;
  *) echo "COMPOSE_PROFILE must be debug or release, not '$profile'" >&2; exit 2 ;;
esac
step "server, seeder and web client ($profile), built with the README's commands"
if [ "$profile" = debug ]; then
  # In one invocation, as the test run built them (their features unified):
  # fresh already. Alone, the seeder was built again without the server's crates.
  cargo build --quiet -p cinemesh-server --bin cinemesh -p cinemesh-seeder
else
  cargo build "${profile_flag[@]}" --quiet -p cinemesh-server --bin cinemesh
  cargo build "${profile_flag[@]}" --quiet -p cinemesh-seeder
fi
(cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build --silent >/dev/null)

step "cinemesh image (Dockerfile target prebuilt)"
image="cinemesh-test/cinemesh:$$"
build --target prebuilt --build-arg "RUNTIME_IMAGE=$runtime_base" --build-arg "PREBUILT_PROFILE=$profile" -t "$image" .
made_images+=("$image")
echo "CINEMESH_IMAGE=$image" >>"$work/compose.env"
# Both targets' runtime is one stage; what the image runs as must be what users get.
user=$(docker image inspect -f '{{.Config.User}}' "$image")
[ "$user" = cinemesh ] || { echo "the image runs as '$user', not cinemesh" >&2; exit 1; }
docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$image" | grep -q readyz \
  || { echo "the image has no /readyz health check" >&2; exit 1; }
echo "image $image: user $user, health check on /readyz"

# Free ports for the proxy (HTTPS, and HTTP that redirects), and the
# instances reachable from here so that a test can put one member on each.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
https_port=$(free_port)
http_port=$(free_port)
instance_1=$(free_port)
instance_2=$(free_port)
# coturn is on the host's network: its port too (browsers here reach it as localhost).
turn_port=$(free_port)
{
  echo "CINEMESH_HTTPS_PORT=$https_port"
  echo "CINEMESH_HTTP_PORT=$http_port"
  echo "CINEMESH_TURN_PORT=$turn_port"
} >>"$work/compose.env"
# The proxy's certificate is for the compose file's default site, localhost.
proxy_url="https://localhost:$https_port"
instances="http://127.0.0.1:$instance_1,http://127.0.0.1:$instance_2"
compose_line="${compose_cmd[*]} -p $project --env-file $work/compose.env -f $root/docker-compose.yml -f $work/test.yml --profile seeder"
cat >"$work/test.yml" <<EOF
services:
  cinemesh-1:
    ports: ["127.0.0.1:$instance_1:8080"]
  cinemesh-2:
    ports: ["127.0.0.1:$instance_2:8080"]
EOF

step "docker compose up"
compose up -d --no-build --scale seeder=0
# Its certificate is checked once the CA is known (next step).
for _ in $(seq 1 180); do
  curl -fsSk "$proxy_url/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsSk "$proxy_url/readyz" >/dev/null || { echo "the proxy never answered /readyz" >&2; exit 1; }
compose ps

step "HTTPS: the proxy's internal CA, trusted by the test alone"
ca="$work/proxy-root.crt"
docker cp "$(compose ps -q proxy):/data/caddy/pki/authorities/local/root.crt" "$ca" >/dev/null
curl -fsS --cacert "$ca" "$proxy_url/readyz" >/dev/null \
  || { echo "the proxy's certificate does not verify against its own CA" >&2; exit 1; }
if curl -fsS "$proxy_url/readyz" >/dev/null 2>&1; then
  echo "the proxy's certificate verified without its CA: not the internal one" >&2
  exit 1
fi
redirect=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$http_port/rooms/x")
case "$redirect" in
  "308 https://localhost/rooms/x") echo "plain HTTP redirects: $redirect" ;;
  *) echo "plain HTTP on :$http_port does not redirect to HTTPS: $redirect" >&2; exit 1 ;;
esac
# Chromium takes trust anchors from the NSS database in its HOME.
browser_home="$work/browser-home"
mkdir -p "$browser_home/.pki/nssdb"
certutil -N -d "sql:$browser_home/.pki/nssdb" --empty-password
certutil -A -d "sql:$browser_home/.pki/nssdb" -t "C,," -n cinemesh-compose-test -i "$ca"
echo "the certificate for localhost verifies against the stack's CA ($(openssl x509 -noout -subject -in "$ca"))"

step "the stack, driven from outside (web/compose/stack.test.ts)"
(
  cd web
  CINEMESH_COMPOSE_PROXY="$proxy_url" CINEMESH_COMPOSE_INSTANCES="$instances" CINEMESH_COMPOSE="$compose_line" \
    CINEMESH_COMPOSE_LOGS="$work/logs-before-down.txt" CINEMESH_COMPOSE_BROWSER_HOME="$browser_home" \
    NODE_EXTRA_CA_CERTS="$ca" NO_COLOR=1 npx vitest run --config vitest.compose.config.ts
)

step "logs: no panic, no error"
# Those of the containers before the test's `down`, and of those after it;
# kept under test-artifacts/ for a look after a failure.
mkdir -p test-artifacts
{ cat "$work/logs-before-down.txt" 2>/dev/null || true; compose logs --no-color 2>&1; } >test-artifacts/compose-logs.txt
# Errors and panics fail it (Caddy logs JSON: "level":"error"; coturn
# ": ERROR: "). Expected are a proxy dialling an instance the test stopped
# (it then tries the other one), coturn refusing the test's forged credential,
# and a browser closing its TCP connection to coturn. Warnings are listed;
# those that break a deployment fail it too (leases not renewed, a room
# claimed twice).
errors=$(grep -E "panicked| ERROR |: ERROR: |FATAL|PANIC|\[(error|crit|alert|emerg)\]|\"level\":\"(error|fatal|panic)\"" test-artifacts/compose-logs.txt \
  | grep -vE "dial tcp [^\"]*: (connect: connection refused|connect: no route to host|i/o timeout)" \
  | grep -vE ": ERROR: (check_stun_auth: Cannot find credentials of user|session [0-9]+: TCP socket error: Connection reset by peer)" || true)
warnings=$(grep -E " WARN " test-artifacts/compose-logs.txt || true)
if [ -n "$errors" ] || grep -qE "could not renew|duplicate key" <<<"$warnings"; then
  echo "the stack's logs hold errors (test-artifacts/compose-logs.txt):" >&2
  { echo "$errors"; grep -E "could not renew|duplicate key" <<<"$warnings" || true; } | head -40 >&2
  exit 1
fi
if [ -n "$warnings" ]; then
  echo "warnings ($(wc -l <<<"$warnings")):"
  sed 's/^/  /' <<<"$warnings" | cut -c1-220 | head -20
fi
echo "$(wc -l <test-artifacts/compose-logs.txt) log lines, no error and no panic"
end_step
echo
echo "compose test passed"
