#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user postgres, no password) and Redis
# (127.0.0.1:6379) answer, starting them when they are installed but stopped.
# On a throwaway CI machine (CI=true) it also lets the local postgres user in
# without a password, as the tests expect. Sourced by scripts/test.sh.
set -euo pipefail

postgres_answers() {
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}

ensure_postgres() {
  if postgres_answers; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2
    return 1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
    echo "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  for _ in $(seq 1 30); do postgres_answers && return 0; sleep 0.5; done
  if [ "${CI:-}" = "true" ]; then
    # A fresh Debian cluster asks for peer or password authentication.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    echo "CI: trusting local connections in $hba"
    sed -i '1i local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    for _ in $(seq 1 20); do postgres_answers && return 0; sleep 0.5; done
  fi
  echo "PostgreSQL does not accept user postgres without a password on 127.0.0.1 (see pg_hba.conf)" >&2
  return 1
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not installed: apt-get install -y redis-server" >&2
    return 1
  fi
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "Redis did not start" >&2
  return 1
}
