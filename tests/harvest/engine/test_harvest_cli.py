"""`chasm harvest` against the configured database, with roots from --root."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

import pytest
from harvest_testsource import JsonlSource
from typer.testing import CliRunner

from chasm.app import create_app
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings


async def _bootstrap(settings: Settings) -> None:
    application = create_app(settings)
    with contextlib.redirect_stdout(io.StringIO()):
        async with application.router.lifespan_context(application):
            pass


def test_cli_harvest_reports_counts_and_is_incremental(
    settings: Settings, source: JsonlSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in (
        ("CHASM_DATA_DIR", str(settings.data_dir)),
        ("CHASM_DATABASE_URL", settings.effective_database_url),
        ("CHASM_DATABASE_SCHEMA", settings.database_schema or ""),
        ("CHASM_HARVEST_HOME", str(settings.harvest_home)),
        ("CHASM_SECRET_KEY", settings.secret_key or ""),
    ):
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    asyncio.run(_bootstrap(settings))
    extra = tmp_path / "logs"
    extra.mkdir()
    (extra / "one.jsonl").write_text(
        json.dumps({"role": "user", "content": "hello", "cwd": "/w/cli"}) + "\n{bad\n"
    )
    runner = CliRunner()
    try:
        first = runner.invoke(
            cli, ["harvest", "--provider", "testlog", "--root", f"testlog={extra}", "--json"]
        )
        assert first.exit_code == 0, first.output
        report = json.loads(first.stdout)
        assert report["providers"]["testlog"]["chats_created"] == 1
        assert report["issues"][0]["line"] == 2

        table = runner.invoke(
            cli, ["harvest", "-p", "testlog", "--root", f"testlog={extra}"], env={"COLUMNS": "80"}
        )
        assert table.exit_code == 0 and "testlog" in table.output
        # The table fits an 80-column terminal with every header whole (the line after it names
        # the library: a file path or a database URL, as long as it is).
        rows = table.output.split("\nLibrary: ")[0].splitlines()
        assert max(len(line) for line in rows) <= 80
        header = next(line for line in table.output.splitlines() if "Source" in line).split()
        assert header == ["Source", "Seen", "Parsed", "Skipped", "New", "Updated", "Messages", "Errors"]

        again = json.loads(
            runner.invoke(cli, ["harvest", "-p", "testlog", "--root", f"testlog={extra}", "--json"]).stdout
        )
        assert again["providers"]["testlog"]["units_skipped"] == 1 and again["messages_count"] == 0

        bad = runner.invoke(cli, ["harvest", "--root", "no-equals-sign"])
        assert bad.exit_code != 0
        unknown = runner.invoke(cli, ["harvest", "--provider", "nope"])
        assert unknown.exit_code == 1 and "Unknown provider" in unknown.output
    finally:
        get_settings.cache_clear()
