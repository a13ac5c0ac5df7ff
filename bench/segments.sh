#!/usr/bin/env bash
# Segment server vs nginx, side by side in one run: the same segment files,
# each server pinned to core 0 with one worker, wrk pinned to core 1, on
# loopback. The two servers take turns for several rounds and the medians are
# reported, because this shared machine's speed drifts by tens of percent
# between runs. Prints requests/s and MB/s for a small (200 KB) and a large
# (2 MB) segment, and cinemesh's ratio to nginx.
#   bench/segments.sh [seconds per run, default 8] [connections, default 32] [rounds, default 3]
# Needs: nginx and wrk (apt-get install nginx wrk), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-8}
connections=${2:-32}
rounds=${3:-3}
for tool in nginx wrk taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y nginx wrk util-linux" >&2; exit 1; }
done

cargo build --release --quiet -p cinemesh-server --bin cinemesh
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

media="$work/data/media"
mkdir -p "$media/benchmovie/720p"
head -c 200000 /dev/urandom > "$media/benchmovie/720p/seg_00000.ts"
head -c 2000000 /dev/urandom > "$media/benchmovie/720p/seg_00001.ts"
# nginx workers run as an unprivileged user: let them read the files.
chmod -R a+rX "$work"

# cinemesh: one HTTP worker; its blocking file-read threads share the same core.
CINEMESH_LOG=warn CINEMESH_SERVER_BIND=127.0.0.1:0 CINEMESH_SERVER_WORKERS=1 CINEMESH_DEMO_ENABLED=false \
  CINEMESH_STORAGE_DATA_DIR="$work/data" \
  taskset -c 0 target/release/cinemesh serve > "$work/cinemesh.out" 2>"$work/cinemesh.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$work/cinemesh.out" 2>/dev/null && break; sleep 0.1; done
cinemesh_url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/cinemesh.out")
[ -n "$cinemesh_url" ] || { cat "$work/cinemesh.err"; exit 1; }

# nginx: one worker, sendfile, the same files and the same response headers.
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { video/mp2t ts; }
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  fastcgi_temp_path $work/nginx-fastcgi;
  uwsgi_temp_path $work/nginx-uwsgi;
  scgi_temp_path $work/nginx-scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location /media/ {
      alias $media/;
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header Access-Control-Allow-Origin "*";
    }
  }
}
CONF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for i in $(seq 1 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/media/benchmovie/720p/seg_00000.ts" && break
  [ "$i" = 50 ] && { echo "nginx does not serve the files:" >&2; cat "$work/nginx-error.log" >&2; exit 1; }
  sleep 0.1
done

# Both serve the same bytes before anything is measured.
for seg in seg_00000.ts seg_00001.ts; do
  a=$(curl -sf "$cinemesh_url/media/benchmovie/720p/$seg" | sha256sum)
  b=$(curl -sf "http://127.0.0.1:$nginx_port/media/benchmovie/720p/$seg" | sha256sum)
  [ "$a" = "$b" ] || { echo "servers disagree on $seg" >&2; exit 1; }
done

measure() { # url -> "requests_per_s megabytes_per_s"
  local out rps transfer
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$1")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  transfer=$(awk '/^Transfer\/sec:/ {print $2}' <<<"$out")
  # wrk prints Transfer/sec with a unit; normalise to MB/s.
  python3 - "$rps" "$transfer" <<'PY'
import sys
rps, t = float(sys.argv[1]), sys.argv[2]
units = {'B': 1e-6, 'KB': 1e-3 * 1.024, 'MB': 1.048576, 'GB': 1073.741824}
for u in ('GB', 'MB', 'KB', 'B'):
    if t.endswith(u):
        print(f"{rps:.0f} {float(t[:-len(u)]) * units[u]:.1f}")
        break
PY
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '\nSegment server vs nginx: %s rounds of %ss, %s connections, servers on core 0, wrk on core 1 (medians)\n' \
  "$rounds" "$duration" "$connections"
printf '%-8s %15s %9s %13s %9s %7s\n' segment "cinemesh req/s" "MB/s" "nginx req/s" "MB/s" ratio
for case in "200KB seg_00000.ts" "2MB seg_00001.ts"; do
  set -- $case
  c_url="$cinemesh_url/media/benchmovie/720p/$2"
  n_url="http://127.0.0.1:$nginx_port/media/benchmovie/720p/$2"
  # Warm both page caches and connection paths first.
  taskset -c 1 wrk -t1 -c4 -d1s "$c_url" >/dev/null
  taskset -c 1 wrk -t1 -c4 -d1s "$n_url" >/dev/null
  c_rps=(); c_mbs=(); n_rps=(); n_mbs=(); ratios=()
  for _ in $(seq 1 "$rounds"); do
    read -r cr cm < <(measure "$c_url")
    read -r nr nm < <(measure "$n_url")
    c_rps+=("$cr"); c_mbs+=("$cm"); n_rps+=("$nr"); n_mbs+=("$nm")
    ratios+=("$(python3 -c "print(f'{$cr / $nr:.2f}')")")
  done
  printf '%-8s %15s %9s %13s %9s %6sx   (rounds: %s)\n' "$1" \
    "$(echo "${c_rps[*]}" | median)" "$(echo "${c_mbs[*]}" | median)" \
    "$(echo "${n_rps[*]}" | median)" "$(echo "${n_mbs[*]}" | median)" \
    "$(echo "${ratios[*]}" | median)" "${ratios[*]}"
done
