"""A recorded chat is titled as a harvested one: its first real prompt, until a title event (or a
user's edit) names it; wrappers the tool injected are system messages, never the title."""

from __future__ import annotations

from typing import Any

import httpx


def ev(session: str, event_type: str, event_id: str, **data: Any) -> dict[str, Any]:
    return {"session_id": session, "event_type": event_type, "event_id": event_id, "data": data}


async def record(client: httpx.AsyncClient, *events: dict[str, Any]) -> None:
    response = await client.post("/api/recording/events", json={"events": list(events)})
    assert response.status_code == 200, response.text


async def chat_of(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    session = (await client.get(f"/api/recording/sessions/{session_id}")).json()["data"]
    data: dict[str, Any] = (await client.get(f"/api/sessions/{session['chat_id']}")).json()["data"]
    return data


async def test_first_prompt_titles_a_recorded_chat_until_a_title_event(client: httpx.AsyncClient) -> None:
    await record(
        client,
        ev("r1", "session_start", "e0", client="my-recorder"),
        ev("r1", "message", "e1", role="user", content="<environment_context>\n  <cwd>/w</cwd>"),
        ev("r1", "message", "e2", role="user", content="\n  Fix the   flaky login test\nin CI please"),
        ev("r1", "message", "e3", role="user", content="And the docs"),
    )
    chat = await chat_of(client, "r1")
    assert chat["title"] == "Fix the flaky login test"
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "user"]
    assert chat["messages"][0]["metadata"]["meta"] == "context"
    listed = (await client.get("/api/sessions")).json()["data"]["sessions"]
    assert [s["title"] for s in listed] == ["Fix the flaky login test"]

    await record(client, ev("r1", "title", "e4", title="Login test fix"))
    assert (await chat_of(client, "r1"))["title"] == "Login test fix"
    await record(client, ev("r1", "message", "e5", role="user", content="One more thing"))
    assert (await chat_of(client, "r1"))["title"] == "Login test fix"


async def test_a_title_given_at_start_or_by_the_user_stays(client: httpx.AsyncClient) -> None:
    await record(
        client,
        ev("r2", "session_start", "e0", client="my-recorder", title="Named"),
        ev("r2", "message", "e1", role="user", content="A prompt"),
        ev("r3", "session_start", "f0", client="my-recorder"),
    )
    assert (await chat_of(client, "r2"))["title"] == "Named"
    untitled = await chat_of(client, "r3")
    assert untitled["title"] == ""
    edited = await client.put(f"/api/sessions/{untitled['id']}", json={"title": "Mine"})
    assert edited.status_code == 200, edited.text
    await record(client, ev("r3", "message", "f1", role="user", content="A prompt"))
    assert (await chat_of(client, "r3"))["title"] == "Mine"
