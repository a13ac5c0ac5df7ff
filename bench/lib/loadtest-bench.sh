# Shared by the benchmarks that drive cinemesh-loadtest: builds the release
# server and load generator, and makes a work folder that is removed, with
# the server ($server_pid) stopped, when the script exits.
#   start_loadtest_bench    (from the repository root; sets $work)
start_loadtest_bench() {
  cargo build --release --quiet -p cinemesh-server --bin cinemesh
  cargo build --release --quiet -p cinemesh-loadtest
  work=$(mktemp -d)
  server_pid=""
  trap 'stop_loadtest_bench' EXIT
}

stop_loadtest_bench() {
  # Word-split on purpose: it may hold several pids.
  [ -n "$server_pid" ] && kill $server_pid 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
