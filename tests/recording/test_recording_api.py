"""Recording API (spec 003): events stored durably, in order, once per id, as chats of the library."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from websockets.asyncio.client import connect

from sessions.fixtures import LiveServer


async def post_events(client: httpx.AsyncClient, *events: dict[str, Any], status: int = 200) -> Any:
    body: Any = events[0] if len(events) == 1 else {"events": list(events)}
    r = await client.post("/api/recording/events", json=body)
    assert r.status_code == status, r.text
    return r.json()


def ev(session: str, event_type: str, event_id: str | None = None, **data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"session_id": session, "event_type": event_type, "data": data}
    if event_id:
        out["event_id"] = event_id
    return out


async def test_events_make_a_searchable_chat_of_the_recording_client(client: httpx.AsyncClient) -> None:
    acked = await post_events(
        client,
        ev("s1", "session_start", "e0", client="my-recorder", title="Auth work", model="gpt-x"),
        ev("s1", "message", "e1", role="user", content="How do I implement zebrafish auth?"),
        ev("s1", "tool_call", "e2", name="read_file", input={"path": "a.py"}, id="c1"),
        ev("s1", "tool_result", "e3", output="print(1)", call_id="c1"),
        ev(
            "s1",
            "message",
            "e4",
            role="assistant",
            content="Use tokens",
            model="gpt-y",
            usage={"input_tokens": 10, "output_tokens": 5},
        ),
        ev("s1", "custom_thing", "e5", anything=[1, 2]),
        ev("s1", "title", "e6", title="Auth with tokens"),
    )
    data = acked["data"]
    assert data["acked"] == 7
    assert [a["seq"] for a in data["acks"]] == list(range(1, 8))
    assert [a["event_id"] for a in data["acks"]] == [f"e{i}" for i in range(7)]

    session = (await client.get("/api/recording/sessions/s1")).json()["data"]
    assert session["state"] == "active" and session["client"] == "my-recorder" and session["last_seq"] == 7
    assert [e["event_type"] for e in session["events"]][5] == "custom_thing"
    assert session["events"][5]["data"] == {"anything": [1, 2]}  # unknown types kept

    chat = (await client.get(f"/api/sessions/{session['chat_id']}")).json()["data"]
    assert chat["provider"] == "my-recorder" and chat["title"] == "Auth with tokens"
    assert chat["model"] == "gpt-y" and chat["tool_call_count"] == 1
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert chat["messages"][1]["tool_calls"][0]["name"] == "read_file"
    assert chat["usage"]["input_tokens"] == 10 and chat["usage"]["output_tokens"] == 5

    found = (await client.get("/api/search", params={"q": "zebrafish"})).json()
    assert "zebrafish" in json.dumps(found), found

    status = (await client.get("/api/recording/status")).json()["data"]
    assert status["active_sessions"] == 1 and status["events"] == 7
    listed = (await client.get("/api/recording/sessions")).json()
    assert [s["session_id"] for s in listed["data"]] == ["s1"] and listed["pagination"]["total"] == 1


async def test_a_retried_event_is_stored_once(client: httpx.AsyncClient) -> None:
    await post_events(client, ev("s", "session_start", "a"))
    first = await post_events(client, ev("s", "message", "m1", role="user", content="hi"))
    again = await post_events(
        client,
        ev("s", "message", "m1", role="user", content="hi"),
        ev("s", "message", "m2", role="user", content="x"),
    )
    assert first["data"]["acks"][0] == {"event_id": "m1", "session_id": "s", "seq": 2, "duplicate": False}
    assert again["data"]["acks"][0]["duplicate"] is True and again["data"]["acks"][0]["seq"] == 2
    assert again["data"]["acks"][1]["seq"] == 3
    # the same id twice in one batch: once
    same = await post_events(
        client,
        ev("s", "message", "m3", role="user", content="y"),
        ev("s", "message", "m3", role="user", content="y"),
    )
    assert [a["duplicate"] for a in same["data"]["acks"]] == [False, True]
    session = (await client.get("/api/recording/sessions/s")).json()["data"]
    assert [e["event_id"] for e in session["events"]] == ["a", "m1", "m2", "m3"]
    chat = (await client.get(f"/api/sessions/{session['chat_id']}")).json()["data"]
    assert chat["message_count"] == 3


async def test_bad_input_is_refused_whole(client: httpx.AsyncClient) -> None:
    await post_events(client, ev("s", "session_start", "a"))
    # unknown session: 404, and the valid event before it in the batch is not stored
    r = await post_events(
        client, ev("s", "message", "ok", role="user", content="x"), ev("nope", "message", "n"), status=404
    )
    assert r["error"]["code"] == "SESSION_NOT_FOUND" and r["error"]["details"]["index"] == 1
    # out of order seq
    bad = {**ev("s", "message", "o", role="user", content="x"), "seq": 5}
    r = await post_events(client, bad, status=409)
    assert r["error"]["code"] == "OUT_OF_ORDER"
    good = {**ev("s", "message", "o", role="user", content="x"), "seq": 2}
    assert (await post_events(client, good))["data"]["acks"][0]["seq"] == 2
    # oversized
    r = await post_events(client, ev("s", "message", "big", role="user", content="x" * 1_100_000), status=413)
    assert r["error"]["code"] == "EVENT_TOO_LARGE"
    # lone surrogate (not UTF-8) in JSON text, and bytes that are not UTF-8
    raw = b'{"session_id": "s", "event_type": "message", "data": {"role": "user", "content": "\\ud800"}}'
    r2 = await client.post("/api/recording/events", content=raw, headers={"Content-Type": "application/json"})
    assert r2.status_code == 400 and "surrogate" in r2.json()["error"]["message"], r2.text
    r2 = await client.post(
        "/api/recording/events",
        content=b'{"session_id": "s", "event_type": "message", "data": {"content": "\xff"}}',
        headers={"Content-Type": "application/json"},
    )
    assert r2.status_code == 400, r2.text
    # message without a role
    r = await post_events(client, ev("s", "message", "norole", content="x"), status=400)
    assert r["error"]["code"] == "INVALID_EVENT"
    # ended session
    await post_events(client, ev("s", "session_end", "end"))
    r = await post_events(client, ev("s", "message", "late", role="user", content="x"), status=409)
    assert r["error"]["code"] == "SESSION_ENDED"
    # a retry of an event stored before the end is still acknowledged
    assert (await post_events(client, ev("s", "session_end", "end")))["data"]["acks"][0]["duplicate"]
    session = (await client.get("/api/recording/sessions/s")).json()["data"]
    assert [e["event_id"] for e in session["events"]] == ["a", "o", "end"]
    assert session["state"] == "ended"
    assert (await client.get("/api/recording/sessions")).json()["data"] == []
    assert len((await client.get("/api/recording/sessions?state=ended")).json()["data"]) == 1


async def test_numbers_past_64_bits_are_kept_exactly(client: httpx.AsyncClient) -> None:
    """Bodies, stored events and their JSON columns are read as the json module reads them."""
    big = 123456789012345678901234567890
    body = (
        '{"events": [{"session_id": "n", "event_type": "session_start", "event_id": "a"},'
        ' {"session_id": "n", "event_type": "metric", "event_id": "b",'
        f' "data": {{"n": {big}, "m": -{big}}}}}]}}'
    )
    r = await client.post("/api/recording/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    got = await client.get("/api/recording/sessions/n")
    assert f'"n":{big}' in got.text.replace(" ", "")  # as written, not 1.2345678901234568e+29
    assert json.loads(got.text)["data"]["events"][1]["data"] == {"n": big, "m": -big}


async def test_recorded_rows_take_time_ordered_ids(client: httpx.AsyncClient) -> None:
    """Version 7 UUIDs, increasing with the events: the primary key indexes take a batch's rows at
    their end rather than all over (bench.recording)."""
    events = [ev("t", "session_start", "start")]
    events += [ev("t", "message", f"m{i}", role="user", content=f"hello {i}") for i in range(30)]
    await post_events(client, *events)
    stored = (await client.get("/api/recording/sessions/t")).json()["data"]["events"]
    ids = [uuid.UUID(e["message_id"]) for e in stored[1:]]
    assert len(set(ids)) == 30 and all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


async def test_batches_sent_together_are_acknowledged_each_and_a_refused_one_alone_fails(
    client: httpx.AsyncClient,
) -> None:
    """Concurrent batches share a transaction (group commit); one refused batch fails alone."""
    await post_events(client, ev("g1", "session_start", "s1"), ev("g2", "session_start", "s2"))

    async def send(session: str, n: int, bad: bool = False) -> httpx.Response:
        events = [ev(session, "message", f"{session}-{n}-{i}", role="user", content=f"{i}") for i in range(5)]
        if bad:
            events[3] = ev(session, "message", f"{session}-{n}-bad", content="no role")
        return await client.post("/api/recording/events", json={"events": events})

    replies = await asyncio.gather(*(send("g1" if n % 2 else "g2", n, bad=n == 5) for n in range(10)))
    assert [r.status_code for r in replies] == [400 if n == 5 else 200 for n in range(10)]
    assert replies[5].json()["error"]["details"]["index"] == 3
    for session in ("g1", "g2"):
        stored = (await client.get(f"/api/recording/sessions/{session}")).json()["data"]["events"]
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        sent = [r.json()["data"]["acks"] for r in replies if r.status_code == 200]
        acked = {a["event_id"]: a["seq"] for acks in sent for a in acks if a["session_id"] == session}
        assert {e["event_id"]: e["seq"] for e in stored[1:]} == acked  # exactly the acked ones
        assert not any("-5-" in e["event_id"] for e in stored)  # nothing of the refused batch


async def test_snapshot_reconciles_with_stored_events(client: httpx.AsyncClient) -> None:
    await post_events(
        client,
        ev("s", "session_start", "a", client="rec"),
        ev("s", "message", "m1", role="user", content="one"),
        ev("s", "message", "m2", role="assistant", content="two"),
    )
    snap = {
        "session_id": "s",
        "title": "Snap",
        "messages": [
            {"id": "m1", "role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},  # no id: matched by content
            {"role": "user", "content": "three"},
        ],
    }
    r = await client.post("/api/recording/snapshot", json=snap)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["matched"] == 2 and r.json()["data"]["stored"] == 1
    again = (await client.post("/api/recording/snapshot", json=snap)).json()["data"]
    assert again["stored"] == 0 and again["matched"] == 3
    chat = (await client.get(f"/api/sessions/{again['chat_id']}")).json()["data"]
    assert [m["content"] for m in chat["messages"]] == ["one", "two", "three"]
    assert chat["title"] == "Snap"
    # a snapshot of an unknown session starts it
    new = await client.post(
        "/api/recording/snapshot",
        json={
            "session_id": "n",
            "client": "rec",
            "messages": [{"role": "user", "content": "hi"}],
            "ended": True,
        },
    )
    assert new.json()["data"]["stored"] == 1
    assert (await client.get("/api/recording/sessions/n")).json()["data"]["state"] == "ended"


async def test_recovery_lists_sessions_left_active_by_an_earlier_process(
    client: httpx.AsyncClient, app: Any
) -> None:
    from chasm.kit.timeutil import utcnow

    await post_events(
        client, ev("s", "session_start", "a"), ev("s", "message", "m", role="user", content="x")
    )
    assert (await client.get("/api/recording/recovery")).json()["data"]["recovered"] == []
    app.state.recording.started_at = utcnow()  # as if the server had restarted
    got = (await client.get("/api/recording/recovery")).json()["data"]["recovered"]
    assert [(s["session_id"], s["last_seq"], s["last_event_id"]) for s in got] == [("s", 2, "m")]
    assert got[0]["recovered_at"]
    # the client resumes after the last stored event
    assert (await post_events(client, ev("s", "message", "m2", role="user", content="y")))["data"]["acks"][0][
        "seq"
    ] == 3


async def test_websocket_acknowledges_each_message(live: LiveServer) -> None:
    async with connect(f"{live.ws_url}/ws/recording") as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready"
        await ws.send(json.dumps({**ev("w", "session_start", "a"), "ref": 1}))
        await ws.send(
            json.dumps(
                {"events": [ev("w", "message", f"m{i}", role="user", content=str(i)) for i in range(5)]}
            )
        )
        await ws.send(json.dumps(ev("unknown", "message", "x", role="user", content="x")))
        await ws.send("{not json")
        await ws.send(json.dumps(ev("w", "message", "m0", role="user", content="0")))
        replies = [json.loads(await ws.recv()) for _ in range(5)]
    assert replies[0] == {
        "type": "ack",
        "acks": [{"event_id": "a", "session_id": "w", "seq": 1, "duplicate": False}],
        "ref": 1,
    }
    assert [a["seq"] for a in replies[1]["acks"]] == [2, 3, 4, 5, 6]
    assert replies[2]["type"] == "error" and replies[2]["code"] == "SESSION_NOT_FOUND"
    assert replies[3]["type"] == "error" and replies[3]["code"] == "INVALID_JSON"
    assert replies[4]["acks"][0]["duplicate"] is True
    async with httpx.AsyncClient(base_url=live.url) as c:
        session = (await c.get("/api/recording/sessions/w")).json()["data"]
    assert session["last_seq"] == 6


async def test_websocket_refuses_a_key_without_chats_write(
    live: LiveServer, admin: httpx.AsyncClient
) -> None:
    from websockets.exceptions import InvalidStatus

    r = await admin.post("/v1/keys", json={"name": "reader", "scopes": ["chats.read"]})
    key = r.json()["key"] if "key" in r.json() else r.json()["data"]["key"]
    try:
        async with connect(f"{live.ws_url}/ws/recording?token={key}"):
            raise AssertionError("accepted")
    except InvalidStatus as e:
        assert e.response.status_code == 403


@pytest.mark.sqlite_only  # a trigger in SQLite's syntax plays the database refusing a row
async def test_a_batch_the_database_refuses_fails_alone_and_leaves_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Rows are sent to the database while the next are built: a page the database refuses still
    fails its batch alone, after the group is rolled back, and the others are acknowledged."""
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(
            text(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON chat_messages WHEN NEW.content = 'boom'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
            )
        )
    await post_events(client, ev("d1", "session_start", "d1-s"))

    async def send(n: int) -> httpx.Response:
        events = [ev("d1", "message", f"d1-{n}-{i}", role="user", content=f"line {i}") for i in range(600)]
        if n == 2:
            events[550]["data"]["content"] = "boom"  # in the batch's last chunk of rows
        return await client.post("/api/recording/events", json={"events": events})

    replies = await asyncio.gather(*(send(n) for n in range(4)))
    assert [r.status_code < 400 for r in replies] == [True, True, False, True]
    stored = (await client.get("/api/recording/sessions/d1", params={"limit": 10_000})).json()["data"][
        "events"
    ]
    assert [e["seq"] for e in stored] == list(range(1, 1 + 1 + 3 * 600))
    assert not any(e["event_id"].startswith("d1-2-") for e in stored)
    chat = (await client.get("/api/sessions", params={"limit": 1})).json()["data"]["sessions"][0]
    assert chat["message_count"] == 3 * 600
