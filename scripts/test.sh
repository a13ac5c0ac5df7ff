#!/usr/bin/env bash
# Runs every test: the deployment files, Rust unit and integration tests, the
# fault tests (which start and break services of their own), the
# HTTP API against its OpenAPI document, web unit tests, type check, lint, and
# browser end-to-end tests, each suite that
# touches storage against both the embedded SQLite default and Postgres.
# Starts PostgreSQL and Redis when they are installed but not running.
# Browser tests run in a private network namespace when the user may create
# one (root), so nothing they do can leave the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Each step's time goes to a summary printed at the end, to see where a run goes.
timings=()
step_name=""
step_started=$SECONDS
end_step() {
  [ -n "$step_name" ] && timings+=("$(printf '%5d s  %s' $((SECONDS - step_started)) "$step_name")")
  step_name=""
}
step() {
  end_step
  step_name="$*"
  step_started=$SECONDS
  printf '\n==> %s\n' "$*"
}
run() { "$@" 2>&1 | tee -a "$log"; }

source scripts/services.sh
source scripts/private-network.sh
step "services"
ensure_postgres
ensure_redis

step "rust: format and lints"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --quiet -- -D warnings
  # The fault tests are not among the workspace's test targets (services/server/Cargo.toml).
  cargo clippy -p cinemesh-server --test faults --quiet -- -D warnings
  # The seeder builds on its own without the server's HTTP framework, storage
  # and ingest (cinemesh-common without its `server` feature, no catalog crate).
  cargo clippy -p cinemesh-seeder --all-targets --quiet -- -D warnings
  for server_only in actix-web sqlx cinemesh-catalog; do
    if cargo tree -p cinemesh-seeder -e normal -i "$server_only" --depth 0 >/dev/null 2>&1; then
      echo "the seeder depends on $server_only" >&2
      exit 1
    fi
  done
else
  echo "warning: rustfmt or clippy is not installed (rustup component add rustfmt clippy): lints skipped"
fi

step "deployment files"
bash scripts/check-deploy.sh

step "rust: tests (SQLite)"
run cargo test --workspace
step "rust: integration tests (Postgres)"
CINEMESH_TEST_DATABASE=postgres run cargo test -p cinemesh-server --test api
step "rust: fault tests (their own Redis, Postgres cluster and tmpfs)"
run cargo test -p cinemesh-server --test faults

step "HTTP API against its OpenAPI document (Schemathesis)"
bash scripts/api-contract.sh

step "web: install, types, lint, unit tests, build"
cd web
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
CINEMESH_BIN="$root/target/debug/cinemesh" node scripts/gen-api.mjs --check
npx tsc --noEmit
npx eslint .
NO_COLOR=1 run npx vitest run --config vitest.config.ts
npx vite build --logLevel warn
bash "$root/scripts/npm-audit.sh"

step "browser end-to-end (SQLite)"
NO_COLOR=1 run in_private_network npx vitest run --config vitest.e2e.config.ts
step "browser end-to-end (Postgres)"
CINEMESH_TEST_DATABASE=postgres NO_COLOR=1 run in_private_network npx vitest run --config vitest.e2e.config.ts
cd "$root"
step "browser end-to-end across emulated homes (network lab)"
run bash scripts/lab-e2e.sh
step "docker compose stack with a real engine"
run bash scripts/compose-test.sh

end_step
echo
echo "time per step:"
printf '  %s\n' "${timings[@]}"
printf '  %5d s  in all\n' "$SECONDS"

# One closing line over every suite: cargo's "N passed; M failed" and vitest's "Tests  N passed".
passed=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ /^passed/) p += $(i-1) }
  /^ *Tests +[0-9]+ passed/ { p += $2 }
  END { print p + 0 }')
failed=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ /^failed/) f += $(i-1) }
  /^ *Tests +.*[0-9]+ failed/ { for (i = 1; i <= NF; i++) if ($i ~ /^failed/) f += $(i-1) }
  END { print f + 0 }')
echo
echo "all suites: $passed passed, $failed failed"
[ "$failed" = "0" ]
