"""`chasm chats search`, `chasm chats export` and `chasm stats` on the local database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_chat, owner_account_id
from typer.testing import CliRunner

from chasm.app import create_app
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings


@pytest.fixture
def library(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[uuid.UUID]:
    async def setup() -> uuid.UUID:
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            account = await owner_account_id(application)
            return await make_chat(
                application,
                account,
                [
                    {"role": "user", "content": "Why is the quokka endpoint slow?"},
                    {"role": "assistant", "content": "The quokka handler blocks.", "input_tokens": 1000},
                ],
                title="Quokka latency",
            )

    chat_id = asyncio.run(setup())
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.database_url or "")
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    get_settings.cache_clear()
    yield chat_id
    get_settings.cache_clear()


def test_search(library: uuid.UUID) -> None:
    result = CliRunner().invoke(cli, ["chats", "search", "quokka", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["total"] == 2
    assert {m["session_id"] for m in found["messages"]} == {str(library)}
    table = CliRunner().invoke(cli, ["chats", "search", "quokka", "--sessions"])
    assert table.exit_code == 0, table.output
    assert "Quokka latency" in table.stdout
    bad = CliRunner().invoke(cli, ["chats", "search", "--", "-quokka"])
    assert bad.exit_code == 1
    assert "error:" in bad.stderr


def test_export(library: uuid.UUID, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["chats", "export", str(library), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Quokka latency")
    target = tmp_path / "chat.pdf"
    result = CliRunner().invoke(cli, ["chats", "export", str(library), "-f", "pdf", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")
    missing = CliRunner().invoke(cli, ["chats", "export", str(uuid.uuid4())])
    assert missing.exit_code == 1
    assert "Session not found" in missing.stderr


def test_stats(library: uuid.UUID) -> None:
    result = CliRunner().invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_sessions"] == 1 and data["input_tokens"] == 1000
    assert data["estimated_cost_usd"] == pytest.approx(0.003)
    for view in ("overview", "providers", "models", "timeline"):
        result = CliRunner().invoke(cli, ["stats", "--by", view])
        assert result.exit_code == 0, result.output
    assert "claude_code" in CliRunner().invoke(cli, ["stats", "--by", "providers"]).stdout
