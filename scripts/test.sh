#!/usr/bin/env bash
# Runs the whole suite on SQLite, then again on PostgreSQL when CHASM_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
uv run ruff check src tests bench
uv run mypy
if [ -n "${CHASM_TEST_DATABASE_URL:-}" ]; then
  pg_url="$CHASM_TEST_DATABASE_URL"
  unset CHASM_TEST_DATABASE_URL
  echo "== test suite on SQLite =="
  uv run pytest "$@"
  echo "== test suite on PostgreSQL =="
  CHASM_TEST_DATABASE_URL="$pg_url" uv run pytest -m "not sqlite_only" "$@"
else
  uv run pytest "$@"
fi
