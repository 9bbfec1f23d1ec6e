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


@pytest.fixture
def prefixed(library: uuid.UUID, settings: Settings) -> dict[str, uuid.UUID]:
    """Two chats whose ids share their first 8 characters, one with a very long title."""
    from sqlalchemy import update

    from chasm.kit.db import transaction
    from chasm.models import Chat

    ids = {
        "a": uuid.UUID("abcdef01-1111-4000-8000-000000000001"),
        "b": uuid.UUID("abcdef01-2222-4000-8000-000000000002"),
    }

    async def setup() -> None:
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            account = await owner_account_id(application)
            for key, chat_id in ids.items():
                made = await make_chat(application, account, [], title=f"{key} " + "very long title " * 10)
                async with transaction(application.state.sessionmaker) as db:
                    await db.execute(update(Chat).where(Chat.id == made).values(id=chat_id))

    asyncio.run(setup())
    return ids


def test_tables_fit_80_columns(prefixed: dict[str, uuid.UUID]) -> None:
    for args in (["chats", "list"], ["chats", "search", "quokka"], ["search", "quokka", "--sessions"]):
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines and all(len(line) <= 80 for line in lines), result.stdout
    listing = CliRunner().invoke(cli, ["chats", "list"], env={"COLUMNS": "80"}).stdout
    assert "abcdef01  a very long title" in listing and "…" in listing  # one line per chat, cut
    assert "claude_code" in listing or "claude-code" in listing  # the provider is never folded


def test_chat_commands_take_unique_id_prefixes(library: uuid.UUID, prefixed: dict[str, uuid.UUID]) -> None:
    shown = CliRunner().invoke(cli, ["chats", "show", str(library)[:8], "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == str(library)
    longer = CliRunner().invoke(cli, ["chats", "show", "abcdef01-2222", "--json"])
    assert json.loads(longer.stdout)["id"] == str(prefixed["b"])
    ambiguous = CliRunner().invoke(cli, ["chats", "show", "abcdef01"])
    assert ambiguous.exit_code == 1 and "ambiguous" in ambiguous.stderr
    missing = CliRunner().invoke(cli, ["chats", "archive", "0000dead"])
    assert missing.exit_code == 1 and "not found" in missing.stderr
    exported = CliRunner().invoke(cli, ["chats", "export", str(library)[:6], "-f", "json"])
    assert exported.exit_code == 0 and str(library) in exported.stdout
    forked = CliRunner().invoke(cli, ["chats", "fork", str(library)[:8], "--json"])
    assert forked.exit_code == 0, forked.output
    archived = CliRunner().invoke(cli, ["chats", "archive", str(library)[:8], "abcdef011111", "--json"])
    assert archived.exit_code == 0, archived.output
    assert [c["id"] for c in json.loads(archived.stdout)] == [str(library), str(prefixed["a"])]
