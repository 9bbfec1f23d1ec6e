.PHONY: serve test bench lint migration

serve:  ## run the server on embedded defaults (SQLite in the data dir, 127.0.0.1:8787)
	./scripts/bootstrap.sh
	uv run chasm api serve

test:  ## run the whole suite (SQLite; PostgreSQL too when CHASM_TEST_DATABASE_URL is set)
	./scripts/test.sh

lint:
	uv run ruff check src tests bench
	uv run mypy

bench:
	./scripts/bootstrap.sh
	uv run python -m bench
