"""Chat settings (GET/PUT /settings) and system info, vacuum and cache clearing, on both prefixes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from chasm.chats.pricing import price_for
from chasm.system.service import harvest_roots
from search.factories import make_chat, make_workspace, other_account_id, owner_account_id

DEFAULTS = {
    "theme": "system",
    "auto_harvest": False,
    "harvest_interval_minutes": 60,
    "sync_enabled": False,
    "sync_provider": "local",
    "encryption_enabled": False,
    "telemetry_enabled": False,
    "harvest": {"roots": {}},
}


async def test_settings_defaults_update_and_persistence(app: FastAPI, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/settings")
    assert r.status_code == 200
    assert r.json() == {"success": True, "data": DEFAULTS}
    r = await client.put(
        "/api/settings",
        json={
            "theme": "dark",
            "auto_harvest": True,
            "harvest": {"roots": {"aider": ["/src/a", " /src/b ", "/src/a"]}},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["theme"] == "dark"
    r = await client.put("/api/settings", json={"harvest_interval_minutes": 15})
    data = (await client.get("/api/settings")).json()["data"]
    assert data == {
        **DEFAULTS,
        "theme": "dark",
        "auto_harvest": True,
        "harvest_interval_minutes": 15,
        "harvest": {"roots": {"aider": ["/src/a", "/src/b"]}},
    }
    async with app.state.sessionmaker() as db:
        assert await harvest_roots(db, await owner_account_id(app)) == {"aider": ["/src/a", "/src/b"]}


async def test_settings_validation(client: httpx.AsyncClient) -> None:
    for body in (
        {"colour": "red"},
        {"theme": "neon"},
        {"harvest_interval_minutes": 0},
        {"harvest": {"paths": []}},
    ):
        r = await client.put("/api/settings", json=body)
        assert r.status_code == 400, body
        assert r.json()["success"] is False
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/api/settings")).json()["data"] == DEFAULTS


async def test_system_info(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await owner_account_id(app)
    workspace = await make_workspace(app, account, "proj")
    await make_chat(app, account, [{"role": "user", "content": "hi"}], workspace_id=workspace)
    await make_chat(app, account, [{"role": "user", "content": "yo"}], provider="codex")
    await make_chat(app, await other_account_id(app), [{"role": "user", "content": "not mine"}])
    for prefix in ("/api/v1", "/api"):
        body = (await client.get(f"{prefix}/system/info")).json()
        data = body if prefix == "/api/v1" else body["data"]
        assert data["session_count"] == 2
        assert data["workspace_count"] == 1
        assert data["providers_with_sessions"] == 2
        assert data["provider_count"] >= 10  # every registered harvest source
        assert data["database_size_bytes"] > 0
        assert data["version"]


async def test_vacuum_keeps_the_search_index_right(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await owner_account_id(app)
    for i in range(30):
        await make_chat(app, account, [{"role": "user", "content": f"filler number {i} " * 20}])
    keep = await make_chat(app, account, [{"role": "user", "content": "the quokka survives vacuum"}])
    async with app.state.sessionmaker() as db, db.begin():
        from sqlalchemy import delete

        from chasm.models import Chat

        await db.execute(delete(Chat).where(Chat.title == "A chat", Chat.id != keep))
    r = await client.post("/api/system/vacuum")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["backend"] in ("sqlite", "postgresql")
    assert data["size_before_bytes"] > 0 and data["size_after_bytes"] > 0
    hits = (await client.get("/api/search", params={"q": "quokka"})).json()["data"]["messages"]
    assert [h["session_id"] for h in hits] == [str(keep)]
    assert (await client.get("/api/search", params={"q": "filler"})).json()["data"]["total"] == 0


async def test_cache_clear_reports_what_was_cleared(client: httpx.AsyncClient) -> None:
    price_for("claude-sonnet-4-5-test-model")
    r = await client.post("/api/system/cache/clear")
    assert r.status_code == 200
    cleared = r.json()["data"]["cleared"]
    assert cleared["chats.pricing"] >= 1
    assert "chats.export.pdf_fonts" in cleared
    again = (await client.post("/api/system/cache/clear")).json()["data"]
    assert again["cleared"]["chats.pricing"] == 0
