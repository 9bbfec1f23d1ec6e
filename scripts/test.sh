#!/usr/bin/env bash
# Runs the whole suite on SQLite, and again on PostgreSQL when CHASM_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
# A pass that hangs (a test stuck where pytest-timeout's alarm cannot reach it) is ended after this
# many seconds with SIGABRT: faulthandler prints every thread's stack, and the run fails in minutes
# rather than at CI's own limit. A whole pass takes about 9 minutes on 2 cores.
pass_limit="${CHASM_TEST_PASS_TIMEOUT:-1800}"
pytest_pass() { uv run timeout -s ABRT -k 30 "$pass_limit" pytest "$@"; }
./scripts/bootstrap.sh
uv run ruff check src tests bench
uv run mypy
if command -v npm >/dev/null 2>&1 && [ -d web/node_modules ]; then
  (cd web && npm test --silent)
fi
if [ -n "${CHASM_TEST_DATABASE_URL:-}" ]; then
  pg_url="$CHASM_TEST_DATABASE_URL"
  unset CHASM_TEST_DATABASE_URL
  # Side by side by default where there are 2 cores or more (the suite mostly waits on servers,
  # sandboxes and browsers: a whole CI run used 15 CPU-minutes in 20 wall-clock minutes one after
  # the other); CHASM_TEST_PARALLEL=0 runs them one after the other.
  parallel="${CHASM_TEST_PARALLEL:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}"
  if [ "$parallel" = 0 ]; then
    echo "== test suite on SQLite =="
    pytest_pass "$@"
    echo "== test suite on PostgreSQL =="
    CHASM_TEST_DATABASE_URL="$pg_url" pytest_pass -m "not sqlite_only" "$@"
    exit 0
  fi
  # The two passes side by side: every test has its own database, data dir and ports, so the
  # passes share nothing but the machine. PostgreSQL's output is shown after SQLite's.
  pg_log=$(mktemp)
  CHASM_TEST_DATABASE_URL="$pg_url" pytest_pass -m "not sqlite_only" "$@" >"$pg_log" 2>&1 &
  pg_pid=$!
  trap 'kill "$pg_pid" 2>/dev/null || true; rm -f "$pg_log"' EXIT
  echo "== test suite on SQLite (the PostgreSQL pass runs alongside) =="
  sqlite_rc=0
  pytest_pass "$@" || sqlite_rc=$?
  pg_rc=0
  wait "$pg_pid" || pg_rc=$?
  echo "== test suite on PostgreSQL =="
  cat "$pg_log"
  [ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
else
  pytest_pass "$@"
fi
