"""Tool calls are searchable (name, meaningful arguments, result excerpt), below prose by default,
and the `tools` filter includes, excludes or isolates them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from factories import make_chat, owner_account_id
from fastapi import FastAPI

from chasm.harvest.tool_text import tool_text


def with_calls(content: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": calls, "tool_text": tool_text(calls)}


@pytest.fixture
async def chats(app: FastAPI) -> dict[str, str]:
    account = await owner_account_id(app)
    read = {"id": "t1", "name": "Read", "input": {"file_path": "/repo/docs/README.md"}, "output": "# Docs"}
    edit = {
        "id": "t2",
        "name": "Edit",
        "input": {"file_path": "/repo/setup.cfg", "old_string": "zebra", "new_string": "quokka"},
        "output": "ok",
    }
    shell = {"id": "t3", "name": "shell", "input": {"command": ["bash", "-lc", "grep -rn TODO src"]}}
    return {
        "tool": str(
            await make_chat(
                app,
                account,
                [{"role": "user", "content": "Tidy the docs"}, with_calls("Looking.", [read, edit, shell])],
                title="Tidy",
            )
        ),
        "prose": str(
            await make_chat(
                app,
                account,
                [{"role": "user", "content": "Please rewrite the README intro, the README is stale."}],
                title="Words",
            )
        ),
    }


async def found(client: httpx.AsyncClient, q: str, **params: str) -> list[str]:
    response = await client.get("/api/search/messages", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [m["session_id"] for m in response.json()["data"]["messages"]]


async def test_tool_calls_are_found_below_prose(client: httpx.AsyncClient, chats: dict[str, str]) -> None:
    assert await found(client, "README") == [chats["prose"], chats["tool"]]  # prose ranks first
    assert await found(client, "readme", tools="exclude") == [chats["prose"]]
    assert await found(client, "README", tools="only") == [chats["tool"]]
    assert await found(client, "Edit setup.cfg") == [chats["tool"]]  # tool name and path
    assert await found(client, "TODO") == [chats["tool"]]  # an argv
    assert await found(client, "quokka") == []  # edit bodies are not indexed
    sessions = (await client.get("/api/search/sessions", params={"q": "README", "tools": "only"})).json()
    assert [s["id"] for s in sessions["data"]] == [chats["tool"]]
    hit = (await client.get("/api/search/messages", params={"q": "README", "tools": "only"})).json()
    assert "README" in hit["data"]["messages"][0]["snippet"]  # highlighted on SQLite


async def test_tools_filter_is_validated(client: httpx.AsyncClient, chats: dict[str, str]) -> None:
    response = await client.get("/api/search/messages", params={"q": "README", "tools": "sometimes"})
    assert response.status_code == 400  # the chat surface's validation error


def test_tool_text_is_bounded_and_skips_bodies() -> None:
    text = tool_text(
        [
            {"name": "Write", "input": {"file_path": "a.py", "content": "x" * 10_000}, "output": "y" * 9999},
            {"name": "apply_patch", "input": "*** Begin Patch\n*** Update File: README.md\n@@\n-old body\n"},
        ]
    )
    assert text is not None and "a.py" in text and "xxx" not in text and len(text) < 1000
    assert "Update File: README.md" in text and "old body" not in text
    assert tool_text([]) is None
