"""`chasm chats list|show|fork|merge|archive` on the configured database."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chasm.app import create_app
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings


async def _seed(settings: Settings) -> list[dict[str, Any]]:
    application = create_app(settings)
    made = []
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            for title, texts in (("First", ["hello", "hi there"]), ("Second", ["more", "sure"])):
                messages = [
                    {"role": r, "content": t} for r, t in zip(("user", "assistant"), texts, strict=True)
                ]
                response = await client.post("/api/sessions", json={"title": title, "messages": messages})
                made.append(response.json()["data"])
    return made


def test_cli_lists_shows_forks_merges_and_archives(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()
    first, second = asyncio.run(_seed(settings))
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["chats", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    try:
        listed = run("list")
        assert listed["total"] == 2 and {s["title"] for s in listed["sessions"]} == {"First", "Second"}
        shown = run("show", first["id"])
        assert [m["content"] for m in shown["messages"]] == ["hello", "hi there"]
        fork = run("fork", first["id"], "--at", first["messages"][0]["id"], "--title", "Branch")
        assert fork["title"] == "Branch" and fork["message_count"] == 1 and fork["parent_id"] == first["id"]
        merged = run("merge", first["id"], second["id"], "--strategy", "concatenate")
        assert [m["content"] for m in merged["messages"]] == ["hello", "hi there", "more", "sure"]
        archived = run("archive", second["id"])
        assert archived[0]["archived"] is True
        assert run("list", "--archived")["total"] == 1
        table = runner.invoke(cli, ["chats", "list"])
        assert table.exit_code == 0 and "First" in table.output
        missing = runner.invoke(cli, ["chats", "show", "00000000-0000-0000-0000-000000000000"])
        assert missing.exit_code == 1 and "Session not found" in missing.output
    finally:
        get_settings.cache_clear()


async def _seed_models_and_tags(settings: Settings) -> dict[str, str]:
    """Three chats: tags through the API, models as a harvest records them (on the chat row)."""
    from sqlalchemy import update

    from chasm.models import Chat

    application = create_app(settings)
    ids: dict[str, str] = {}
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            for title, tags, model in (
                ("Parser refactor", ["work", "python"], "claude-sonnet-4-5"),
                ("Holiday plans", ["home"], "gpt-5"),
                ("Lexer bug", ["work"], "gpt-5"),
            ):
                body = {"title": title, "tags": tags, "messages": [{"role": "user", "content": title}]}
                response = await client.post("/api/sessions", json=body)
                ids[title] = response.json()["data"]["id"]
                async with application.state.sessionmaker.begin() as session:
                    chat_id = uuid.UUID(ids[title])
                    await session.execute(update(Chat).where(Chat.id == chat_id).values(model=model))
    return ids


def test_cli_list_filters_by_model_and_tags(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "80")
    get_settings.cache_clear()
    asyncio.run(_seed_models_and_tags(settings))
    runner = CliRunner()

    def titles(*args: str) -> set[str]:
        result = runner.invoke(cli, ["chats", "list", *args, "--json"])
        assert result.exit_code == 0, result.output
        return {s["title"] for s in json.loads(result.output)["sessions"]}

    try:
        assert titles("--model", "gpt-5") == {"Holiday plans", "Lexer bug"}
        assert titles("--tag", "work") == {"Parser refactor", "Lexer bug"}
        assert titles("--tag", "work", "--tag", "python") == {"Parser refactor"}  # every tag
        assert titles("--model", "gpt-5", "--tag", "work") == {"Lexer bug"}
        assert titles("--tag", "nowhere") == set()
        table = runner.invoke(cli, ["chats", "list", "--model", "gpt-5", "--tag", "work"])
        assert table.exit_code == 0, table.output
        assert "Lexer bug" in table.output and "Holiday" not in table.output
        assert max(len(line) for line in table.output.splitlines()) <= 80
        too_many = runner.invoke(cli, ["chats", "list", *[f"--tag=t{i}" for i in range(21)]])
        assert too_many.exit_code == 2 and "at most 20 tags" in too_many.output
    finally:
        get_settings.cache_clear()
