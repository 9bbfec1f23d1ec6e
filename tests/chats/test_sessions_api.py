"""Sessions (chats) and workspaces of the chat library, on both prefixes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chasm.chats.merge import MergeItem, smart
from chasm.kit.db import transaction
from chasm.models import Account, Chat

# Behaviour through spec 003's surface; /api/v1 answers the same data in 001's shapes, checked by
# test_spec001_contract.py.
PREFIXES = ["/api"]


async def create(client: httpx.AsyncClient, prefix: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{prefix}/sessions", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def msgs(*texts: str) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_create_get_update_archive_delete(client: httpx.AsyncClient, prefix: str) -> None:
    made = await create(client, prefix, title="Auth work", messages=msgs("how do I log in?", "use a token"))
    assert made["title"] == "Auth work" and made["message_count"] == 2 and made["provider"] == "chasm"
    assert [m["role"] for m in made["messages"]] == ["user", "assistant"]

    got = (await client.get(f"{prefix}/sessions/{made['id']}")).json()
    assert got["success"] is True
    message = got["data"]["messages"][1]
    assert message["session_id"] == made["id"] and message["content"] == "use a token"
    assert set(message) >= {
        "id",
        "role",
        "content",
        "thinking",
        "tool_calls",
        "model",
        "token_count",
        "usage",
        "created_at",
    }

    updated = (
        await client.put(
            f"{prefix}/sessions/{made['id']}", json={"title": "Login", "tags": ["auth", "auth", "web"]}
        )
    ).json()["data"]
    assert updated["title"] == "Login" and updated["tags"] == ["auth", "web"] and updated["archived"] is False

    archived = (await client.post(f"{prefix}/sessions/{made['id']}/archive")).json()["data"]
    assert archived["archived"] is True
    listed = (await client.get(f"{prefix}/sessions", params={"archived": "true"})).json()["data"]
    assert [s["id"] for s in listed["sessions"]] == [made["id"]]
    assert (await client.get(f"{prefix}/sessions", params={"archived": "false"})).json()["data"]["total"] == 0

    deleted = await client.delete(f"{prefix}/sessions/{made['id']}")
    assert deleted.status_code == 200 and deleted.json() == {
        "success": True,
        "data": {"deleted": True, "id": made["id"]},
    }
    gone = await client.get(f"{prefix}/sessions/{made['id']}")
    assert gone.status_code == 404
    assert gone.json() == {
        "success": False,
        "error": {"code": "SESSION_NOT_FOUND", "message": "Session not found"},
    }


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_list_pagination_total_and_filters(client: httpx.AsyncClient, prefix: str) -> None:
    ws = (await client.post(f"{prefix}/workspaces", json={"name": "web", "path": "/srv/web"})).json()["data"]
    for i in range(5):
        await create(
            client,
            prefix,
            title=f"chat {i}",
            workspace_id=ws["id"] if i < 3 else None,
            provider="cursor" if i == 4 else None,
        )

    page = (await client.get(f"{prefix}/sessions", params={"limit": 2, "offset": 1})).json()["data"]
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1 and len(page["sessions"]) == 2
    default = (await client.get(f"{prefix}/sessions")).json()["data"]
    assert default["limit"] == (20 if prefix == "/api/v1" else 50)

    by_ws = (await client.get(f"{prefix}/sessions", params={"workspace_id": ws["id"]})).json()["data"]
    legacy = (await client.get(f"{prefix}/sessions", params={"workspace": ws["id"]})).json()["data"]
    assert by_ws["total"] == legacy["total"] == 3
    assert (await client.get(f"{prefix}/sessions", params={"provider": "cursor"})).json()["data"][
        "total"
    ] == 1

    too_many = await client.get(f"{prefix}/sessions", params={"limit": 101})
    assert too_many.status_code == 400 and too_many.json()["success"] is False
    bad_ws = await client.get(f"{prefix}/sessions", params={"workspace": "nope"})
    assert bad_ws.status_code == 400 and bad_ws.json()["error"]["code"] == "INVALID_WORKSPACE"


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_messages_page_and_append(client: httpx.AsyncClient, prefix: str) -> None:
    chat = await create(client, prefix, messages=msgs("a", "b", "c", "d", "e"))
    page = (
        await client.get(f"{prefix}/sessions/{chat['id']}/messages", params={"limit": 2, "offset": 2})
    ).json()
    assert [m["content"] for m in page["data"]] == ["c", "d"]
    assert page["pagination"] == {"total": 5, "limit": 2, "offset": 2}

    added = await client.post(
        f"{prefix}/sessions/{chat['id']}/messages", json={"role": "user", "content": "f"}
    )
    assert added.status_code == 201 and added.json()["data"]["content"] == "f"
    got = (await client.get(f"{prefix}/sessions/{chat['id']}")).json()["data"]
    assert got["message_count"] == 6 and got["messages"][-1]["content"] == "f"

    bad = await client.post(
        f"{prefix}/sessions/{chat['id']}/messages", json={"role": "robot", "content": "x"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    broken = await client.post(
        f"{prefix}/sessions/{chat['id']}/messages", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["success"] is False


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_fork_at_a_message(client: httpx.AsyncClient, prefix: str) -> None:
    chat = await create(client, prefix, title="Plan", messages=msgs("one", "two", "three", "four"))
    at = chat["messages"][1]["id"]

    response = await client.post(f"{prefix}/sessions/{chat['id']}/fork", json={"message_id": at})

    assert response.status_code == 201
    fork = response.json()["data"]
    assert [m["content"] for m in fork["messages"]] == ["one", "two"]
    assert fork["parent_id"] == chat["id"] and fork["forked_from_message_id"] == at
    assert fork["title"] == "Plan (fork)" and fork["id"] != chat["id"]
    whole = (await client.post(f"{prefix}/sessions/{chat['id']}/fork", json={"title": "Copy"})).json()["data"]
    assert whole["message_count"] == 4 and whole["title"] == "Copy"
    missing = await client.post(
        f"{prefix}/sessions/{chat['id']}/fork", json={"message_id": str(uuid.uuid4())}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_merge_strategies(client: httpx.AsyncClient, app: FastAPI, prefix: str) -> None:
    first = await create(client, prefix, title="A", messages=msgs("q1", "a1"))
    second = await create(client, prefix, title="B", messages=msgs("q2", "a2"))
    ids = [second["id"], first["id"]]

    concat = (
        await client.post(f"{prefix}/sessions/merge", json={"session_ids": ids, "strategy": "concatenate"})
    ).json()
    assert [m["content"] for m in concat["data"]["messages"]] == ["q2", "a2", "q1", "a1"]
    assert concat["data"]["title"] == "Merged: B + A"

    # interleave orders by time: `first` was written before `second`
    inter = (await client.post(f"{prefix}/sessions/merge", json={"session_ids": ids, "title": "T"})).json()[
        "data"
    ]
    assert [m["content"] for m in inter["messages"]] == ["q1", "a1", "q2", "a2"] and inter["title"] == "T"

    # smart drops a fork's copy of the shared beginning
    base = await create(client, prefix, messages=msgs("start", "reply", "more"))
    fork = (
        await client.post(
            f"{prefix}/sessions/{base['id']}/fork", json={"message_id": base["messages"][1]["id"]}
        )
    ).json()["data"]
    await client.post(f"{prefix}/sessions/{fork['id']}/messages", json={"role": "user", "content": "branch"})
    merged = (
        await client.post(
            f"{prefix}/sessions/merge", json={"session_ids": [base["id"], fork["id"]], "strategy": "smart"}
        )
    ).json()["data"]
    assert [m["content"] for m in merged["messages"]] == ["start", "reply", "more", "branch"]

    one = await client.post(f"{prefix}/sessions/merge", json={"session_ids": [first["id"]]})
    assert one.status_code == 400
    same = await client.post(f"{prefix}/sessions/merge", json={"session_ids": [first["id"], first["id"]]})
    assert same.status_code == 400 and same.json()["error"]["code"] == "INVALID_MERGE"
    unknown = await client.post(
        f"{prefix}/sessions/merge", json={"session_ids": [first["id"], str(uuid.uuid4())]}
    )
    assert unknown.status_code == 404
    bad = await client.post(f"{prefix}/sessions/merge", json={"session_ids": ids, "strategy": "zip"})
    assert bad.status_code == 400


def test_smart_merge_drops_exact_duplicates_and_orders_by_time() -> None:
    from datetime import UTC, datetime

    def item(chat: int, seq: int, text: str, minute: int) -> MergeItem:
        return MergeItem(
            chat, seq, "user", text, datetime(2026, 1, 1, 0, minute, tzinfo=UTC), f"{text}{minute}"
        )

    a = [item(0, 0, "x", 1), item(0, 1, "y", 3)]
    b = [item(1, 0, "z", 2), item(1, 1, "y", 3)]  # "y" at 00:03 is the same message
    assert [i.content for i in smart([a, b])] == ["x", "z", "y"]


async def test_other_accounts_chats_are_404(client: httpx.AsyncClient, app: FastAPI) -> None:
    async with transaction(app.state.sessionmaker) as db:
        other = Account(name=f"other-{uuid.uuid4().hex[:8]}", kind="organization")
        db.add(other)
        await db.flush()
        chat = Chat(account_id=other.id, provider="chasm", source_id="x", title="secret", tags=[])
        db.add(chat)
        await db.flush()
        chat_id = chat.id
    for prefix in PREFIXES:
        assert (await client.get(f"{prefix}/sessions/{chat_id}")).status_code == 404
        assert (await client.put(f"{prefix}/sessions/{chat_id}", json={"title": "mine"})).status_code == 404
        assert (await client.delete(f"{prefix}/sessions/{chat_id}")).status_code == 404
        merge = await client.post(
            f"{prefix}/sessions/merge", json={"session_ids": [str(chat_id), str(chat_id)]}
        )
        assert merge.status_code in (400, 404)
    assert (await client.get("/api/sessions")).json()["data"]["total"] == 0


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_workspaces_crud(client: httpx.AsyncClient, prefix: str) -> None:
    response = await client.post(
        f"{prefix}/workspaces", json={"name": "api", "path": "/srv/api", "provider": "codex"}
    )
    assert response.status_code == 201
    ws = response.json()["data"]
    assert (
        ws["name"] == "api"
        and ws["session_count"] == 0
        and ws["sessions"] == 0
        and ws["updated"] == ws["updated_at"]
    )
    dup = await client.post(
        f"{prefix}/workspaces", json={"name": "again", "path": "/srv/api", "provider": "codex"}
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "WORKSPACE_EXISTS"
    chat = await create(client, prefix, title="in api", workspace_id=ws["id"])

    detail = (await client.get(f"{prefix}/workspaces/{ws['id']}")).json()["data"]
    assert detail["session_count"] == 1 and [s["id"] for s in detail["session_list"]] == [chat["id"]]
    renamed = (await client.put(f"{prefix}/workspaces/{ws['id']}", json={"name": "API"})).json()["data"]
    assert renamed["name"] == "API" and renamed["path"] == "/srv/api"
    listed = (await client.get(f"{prefix}/workspaces")).json()
    assert [w["id"] for w in listed["data"]] == [ws["id"]] and listed["pagination"]["total"] == 1

    deleted = await client.delete(f"{prefix}/workspaces/{ws['id']}")
    assert deleted.json()["data"] == {"deleted": True, "id": ws["id"]}
    assert (await client.get(f"{prefix}/workspaces/{ws['id']}")).status_code == 404
    kept = (await client.get(f"{prefix}/sessions/{chat['id']}")).json()["data"]
    assert kept["workspace_id"] is None
    missing_field = await client.post(f"{prefix}/workspaces", json={"name": "x"})
    assert missing_field.status_code == 400 and missing_field.json()["success"] is False
    unknown_ws = await client.post(f"{prefix}/sessions", json={"workspace_id": ws["id"]})
    assert unknown_ws.status_code == 404


async def test_fixed_routes_are_not_taken_for_ids(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/sessions/not-a-uuid")
    assert response.status_code == 404 and response.json()["code"] == "SESSION_NOT_FOUND"
    response = await client.get("/api/sessions/not-a-uuid")
    assert response.status_code == 404 and response.json()["error"]["code"] == "SESSION_NOT_FOUND"
    response = await client.get("/api/workspaces/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "WORKSPACE_NOT_FOUND"
    assert (await client.post("/api/sessions/merge", json={})).status_code == 400
