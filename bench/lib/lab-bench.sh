# Shared by the benchmarks that run real browsers in the network lab
# (services/netlab): checks the tools, builds the release binaries and the web
# client, brings a lab up, runs one vitest bench file inside the lab's server
# host, and takes the lab down again (also on failure or Ctrl-C).
#   run_lab_bench bench/<file>.ts PROFILE [netlab up options...]   (from the repository root)
run_lab_bench() {
  local file=$1 profile=$2
  shift 2
  if [ "$(id -u)" != "0" ]; then
    echo "the network lab needs root (network namespaces, iptables, NFQUEUE)" >&2
    exit 1
  fi
  for tool in chromium ffmpeg turnserver iptables nginx openssl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y chromium ffmpeg coturn iptables nginx openssl" >&2; exit 1; }
  done
  cargo build --release --quiet -p cinemesh-server --bin cinemesh -p cinemesh-netlab --bin netlab
  local root=$PWD netlab="$PWD/target/release/netlab"
  (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build --silent)
  local run_id
  run_id=$(printf '%04x' $((RANDOM % 65536)))
  # shellcheck disable=SC2064
  trap "'$netlab' down --run-id $run_id >/dev/null 2>&1 || true" EXIT INT TERM
  "$netlab" up "$profile" --run-id "$run_id" --detach "$@"
  cd web
  "$netlab" exec --run-id "$run_id" server -- env NO_COLOR=1 NETLAB_RUN_ID="$run_id" NETLAB_BIN="$netlab" \
    CINEMESH_BIN="$root/target/release/cinemesh" npx vitest run --config vitest.bench.config.ts "$file"
}
