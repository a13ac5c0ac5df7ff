# Shared by the benchmarks that drive real browsers: checks the tools, builds
# the release binary and the web client, and runs one vitest bench file in a
# private network namespace when it can (root; scripts/private-network.sh),
# on loopback otherwise.
#   run_browser_bench bench/<file>.ts [more tools it needs]   (from the repository root)
run_browser_bench() {
  local file=$1
  shift
  # Further arguments: more tools the bench needs, checked before any build.
  for tool in chromium ffmpeg "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool: see the README's benchmarks for what to install" >&2; exit 1; }
  done
  cargo build --release --quiet -p cinemesh-server --bin cinemesh
  export CINEMESH_BIN="$PWD/target/release/cinemesh"
  (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build --silent)
  source scripts/private-network.sh
  cd web
  NO_COLOR=1 in_private_network npx vitest run --config vitest.bench.config.ts "$file"
}
