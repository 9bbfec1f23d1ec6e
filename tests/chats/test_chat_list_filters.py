"""The chat list's model and tag filters, on both chat prefixes (SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from chasm.kit.db import transaction
from chasm.models import Account, Chat, ChatMessage


async def create(client: httpx.AsyncClient, title: str, tags: list[str]) -> str:
    body = {"title": title, "tags": tags, "messages": [{"role": "user", "content": f"about {title}"}]}
    response = await client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def listed(body: dict[str, Any], prefix: str) -> tuple[set[str], int]:
    data = body["data"] if prefix == "/api" else body
    items = data.get("sessions", data.get("items"))
    return {s["title"] for s in items}, int(data["total"])


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
async def test_filter_by_model_and_tags(client: httpx.AsyncClient, app: FastAPI, prefix: str) -> None:
    opus = await create(client, "opus chat", ["auth", "web"])
    mixed = await create(client, "mixed chat", ["auth"])
    await create(client, "plain chat", ["web"])
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(update(Chat).where(Chat.id == uuid.UUID(opus)).values(model="claude-opus-4"))
        # a chat whose own model is another, but one of its messages came from the model asked for
        await db.execute(update(Chat).where(Chat.id == uuid.UUID(mixed)).values(model="gpt-5"))
        await db.execute(
            update(ChatMessage).where(ChatMessage.chat_id == uuid.UUID(mixed)).values(model="claude-opus-4")
        )
        # another account's chat with the same model and tag stays out of sight
        other = Account(name=f"other-{uuid.uuid4().hex[:8]}", kind="organization")
        db.add(other)
        await db.flush()
        secret = Chat(account_id=other.id, provider="chasm", source_id="x", title="secret", tags=["auth"])
        secret.model = "claude-opus-4"
        db.add(secret)

    async def titles(**params: Any) -> tuple[set[str], int]:
        response = await client.get(f"{prefix}/sessions", params=params)
        assert response.status_code == 200, response.text
        return listed(response.json(), prefix)

    assert await titles(model="claude-opus-4") == ({"opus chat", "mixed chat"}, 2)
    assert await titles(model="gpt-5") == ({"mixed chat"}, 1)
    assert await titles(model="nobody") == (set(), 0)
    assert await titles(tag="auth") == ({"opus chat", "mixed chat"}, 2)
    assert await titles(tag=["auth", "web"]) == ({"opus chat"}, 1)  # every tag given
    assert await titles(tag="web", model="claude-opus-4") == ({"opus chat"}, 1)
    assert await titles(tag="nope") == (set(), 0)
    # a tag holding JSON or SQL wildcards is matched as it is written
    assert await titles(tag='"%') == (set(), 0)
    too_many = await client.get(f"{prefix}/sessions", params={"tag": [f"t{i}" for i in range(21)]})
    assert too_many.status_code == 400
