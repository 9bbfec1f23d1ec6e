#!/usr/bin/env bash
# Runs the whole suite on SQLite, and again on PostgreSQL when CHASM_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
uv run ruff check src tests bench
uv run mypy
if command -v npm >/dev/null 2>&1 && [ -d web/node_modules ]; then
  (cd web && npm test --silent)
fi
if [ -n "${CHASM_TEST_DATABASE_URL:-}" ]; then
  pg_url="$CHASM_TEST_DATABASE_URL"
  unset CHASM_TEST_DATABASE_URL
  if [ -n "${CHASM_TEST_SERIAL:-}" ]; then
    echo "== test suite on SQLite =="
    uv run pytest "$@"
    echo "== test suite on PostgreSQL =="
    CHASM_TEST_DATABASE_URL="$pg_url" uv run pytest -m "not sqlite_only" "$@"
    exit 0
  fi
  # The two passes run side by side (CHASM_TEST_SERIAL=1: one after the other): each is one Python
  # process, which left the second core mostly idle. Every test has its own database, data dir and
  # ports, so the passes share nothing but the machine. PostgreSQL's output is shown after SQLite's.
  pg_log=$(mktemp)
  CHASM_TEST_DATABASE_URL="$pg_url" uv run pytest -m "not sqlite_only" "$@" >"$pg_log" 2>&1 &
  pg_pid=$!
  trap 'kill "$pg_pid" 2>/dev/null || true; rm -f "$pg_log"' EXIT
  echo "== test suite on SQLite (the PostgreSQL pass runs alongside) =="
  sqlite_rc=0
  uv run pytest "$@" || sqlite_rc=$?
  pg_rc=0
  wait "$pg_pid" || pg_rc=$?
  echo "== test suite on PostgreSQL =="
  cat "$pg_log"
  [ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
else
  uv run pytest "$@"
fi
