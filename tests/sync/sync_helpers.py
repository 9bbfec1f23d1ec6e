"""Installations of Chasm for sync tests: each its own data dir and database, with sync settings."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings

SQLITE_TEMPLATE: list[Path] = []  # set by the conftest's fixture


@dataclass
class Installation:
    app: FastAPI
    client: httpx.AsyncClient

    async def chat(self, title: str, *messages: str) -> str:
        created = await self.client.post("/api/v1/sessions", json={"title": title})
        assert created.status_code == 201, created.text
        chat_id: str = created.json()["id"]
        for text in messages:
            await self.say(chat_id, text)
        return chat_id

    async def say(self, chat_id: str, text: str) -> None:
        added = await self.client.post(
            f"/api/v1/sessions/{chat_id}/messages", json={"role": "user", "content": text}
        )
        assert added.status_code == 201, added.text

    async def sync(self) -> httpx.Response:
        return await self.client.post("/api/v1/sync")

    async def library(self) -> dict[str, list[str]]:
        """Title -> message texts, of every chat."""
        listed = (await self.client.get("/api/v1/sessions", params={"limit": 100})).json()
        found = {}
        for summary in listed["sessions"] if isinstance(listed, dict) else listed:
            chat = (await self.client.get(f"/api/v1/sessions/{summary['id']}")).json()
            found[chat["title"]] = [m["content"] for m in chat["messages"]]
        return found

    async def find(self, title: str) -> str:
        listed = (await self.client.get("/api/v1/sessions", params={"limit": 100})).json()
        for summary in listed["sessions"] if isinstance(listed, dict) else listed:
            if summary["title"] == title:
                return str(summary["id"])
        raise AssertionError(f"no chat titled {title!r}")


@asynccontextmanager
async def installation(
    root: Path,
    db: dict[str, Any],
    provider: str,
    location: str,
    options: dict[str, Any] | None = None,
    **chat: Any,
) -> AsyncIterator[Installation]:
    settings = Settings(
        data_dir=root / "data",
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        embedded_workers=1,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        semantic_embedder="off",
        sync_locations={provider: location},
        sync_storage_options={provider: options or {}},
        **db,
        **chat,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            put = await client.put("/api/v1/settings", json={"sync_enabled": True, "sync_provider": provider})
            assert put.status_code == 200, put.text
            yield Installation(app, client)


def sqlite_db(root: Path, template: Path) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, root / "chasm.db")
    return {"database_url": f"sqlite+aiosqlite:///{root / 'chasm.db'}"}


async def owner_actor(app: FastAPI) -> Any:
    """The owner as the CLI acts for it (an instance administrator)."""
    from chasm.auth import repository as auth_repo
    from chasm.auth.actor import Actor

    async with app.state.sessionmaker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
        return Actor("user", owner.id, account, "owner", None, via="cli", instance_admin=True)
