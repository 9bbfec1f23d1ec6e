#!/usr/bin/env bash
# Runs the whole suite on SQLite, then again on PostgreSQL when CHASM_TEST_DATABASE_URL is set.
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
  echo "== test suite on SQLite =="
  uv run pytest "$@"
  echo "== test suite on PostgreSQL =="
  CHASM_TEST_DATABASE_URL="$pg_url" uv run pytest -m "not sqlite_only" "$@"
else
  uv run pytest "$@"
fi
