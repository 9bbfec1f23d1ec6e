from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sessions.fixtures import LiveServer, make_workspace

pytestmark = pytest.mark.sandbox


async def test_foreground_exec(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    url = f"/v1/sessions/{sandbox['id']}/exec"
    r = await admin.post(
        url,
        json={"command": "echo out; echo err >&2; pwd; echo $GREETING; exit 4", "env": {"GREETING": "hi"}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["exit_code"] == 4 and body["timed_out"] is False and body["output_truncated"] is False
    assert body["output"].splitlines() == ["out", "err", "/workspace", "hi"]
    assert body["session_id"] == sandbox["id"]

    cwd = await admin.post(url, json={"command": "mkdir -p sub && cd sub && pwd"})
    assert cwd.json()["output"] == "/workspace/sub\n"
    in_sub = await admin.post(url, json={"command": "pwd", "cwd": "/workspace/sub"})
    assert in_sub.json()["output"] == "/workspace/sub\n"


async def test_timeout_kills_the_command(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    r = await admin.post(
        f"/v1/sessions/{sandbox['id']}/exec", json={"command": "echo started; sleep 30", "timeout_ms": 300}
    )
    body = r.json()
    assert body["timed_out"] is True and body["exit_code"] is None
    assert body["output"].startswith("started")


async def test_output_is_truncated(admin: httpx.AsyncClient, sandbox: dict[str, Any], app: FastAPI) -> None:
    limit = app.state.settings.exec_max_output_bytes
    r = await admin.post(
        f"/v1/sessions/{sandbox['id']}/exec", json={"command": f"head -c {limit * 2} /dev/zero | tr '\\0' a"}
    )
    body = r.json()
    assert body["exit_code"] == 0 and body["output_truncated"] is True
    assert len(body["output"]) == limit


async def test_auto_exec_spawns_or_reuses(admin: httpx.AsyncClient, app: FastAPI) -> None:
    r = await admin.post("/v1/exec", json={"command": "echo fresh"})
    assert r.status_code == 200, r.text
    assert r.json()["output"] == "fresh\n"
    first = r.json()["session_id"]
    used = (await admin.get(f"/v1/sessions/{first}")).json()
    assert used["ephemeral"] is True
    assert used["status"] == "terminated" and used["ended_reason"] == "completed"  # ended with it
    again = await admin.post("/v1/exec", json={"command": "true", "ephemeral": True})
    assert again.json()["session_id"] != first
    running = (await admin.get("/v1/sessions", params={"status": "running"})).json()["items"]
    assert running == []  # ten calls do not leave ten sandboxes
    background = await admin.post("/v1/exec", json={"command": "sleep 0.2; echo bg", "background": True})
    kept = (await admin.get(f"/v1/sessions/{background.json()['session_id']}")).json()
    assert kept["status"] == "running"  # its output can still be streamed

    ws = await make_workspace(app, "auto")
    one = await admin.post("/v1/exec", json={"command": "echo 1 > f", "workspace": "auto"})
    two = await admin.post("/v1/exec", json={"command": "cat f", "workspace": ws["id"]})
    assert one.json()["session_id"] == two.json()["session_id"]
    assert two.json()["workspace_id"] == ws["id"] and two.json()["output"] == "1\n"
    both = await admin.post("/v1/exec", json={"command": "true", "workspace": "auto", "ephemeral": True})
    assert both.status_code == 400


async def _wait_exit(admin: httpx.AsyncClient, base: str) -> dict[str, Any]:
    for _ in range(200):
        status: dict[str, Any] = (await admin.get(base)).json()
        if status["status"] != "running":
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("command did not end")


async def test_background_stdin_and_kill(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    url = f"/v1/sessions/{sandbox['id']}"
    started = await admin.post(
        f"{url}/exec", json={"command": "read line; echo got:$line; cat", "background": True}
    )
    assert started.status_code == 200, started.text
    cid = started.json()["command_id"]
    assert started.json()["pid"] > 0
    r = await admin.post(f"{url}/commands/{cid}/stdin", json={"data": "hello\nmore\n"})
    assert r.status_code == 200 and r.json()["status"] == "running"
    await admin.post(f"{url}/commands/{cid}/stdin", json={"eof": True})
    status = await _wait_exit(admin, f"{url}/commands/{cid}")
    assert status["status"] == "exited" and status["exit_code"] == 0
    replay = await admin.get(f"{url}/commands/{cid}/stream")
    assert "got:hello" in replay.text and "more" in replay.text

    sleeper = (await admin.post(f"{url}/exec", json={"command": "sleep 60", "background": True})).json()
    bad = await admin.post(f"{url}/commands/{sleeper['command_id']}/kill", json={"signal": "NOPE"})
    assert bad.status_code == 400
    killed = await admin.post(f"{url}/commands/{sleeper['command_id']}/kill", json={"signal": "KILL"})
    assert killed.status_code == 200
    status = await _wait_exit(admin, f"{url}/commands/{sleeper['command_id']}")
    assert status["status"] == "killed"
    listed = (await admin.get(f"{url}/commands")).json()["items"]
    assert {c["id"] for c in listed} == {cid, sleeper["command_id"]}
    assert (await admin.get(f"{url}/commands/cmd_nope")).status_code == 404


def _parse_sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            events.append(fields)
    return events


async def _read_events(
    response: httpx.Response, count: int | None, texts: AsyncIterator[str] | None = None
) -> list[dict[str, Any]]:
    """Events from a live SSE response: `count` of them, or all until `exit`. Returning from the
    loop closes the response unless the caller passes its own `texts` iterator to keep it open."""
    buffer, events = "", []
    async for text in texts or response.aiter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            events += _parse_sse(block + "\n\n")
            if (count is not None and len(events) >= count) or (events and events[-1]["event"] == "exit"):
                return events
    return events


async def test_sse_stream_resumes_without_loss_or_duplication(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    url = f"/v1/sessions/{sandbox['id']}"
    script = "for i in $(seq 1 40); do echo out$i; echo err$i >&2; sleep 0.02; done"
    cid = (await admin.post(f"{url}/exec", json={"command": script, "background": True})).json()["command_id"]
    stream_url = f"{live.url}{url}/commands/{cid}/stream"
    async with httpx.AsyncClient(headers=admin.headers, timeout=30) as client:
        async with client.stream("GET", stream_url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = await _read_events(response, 5)
        last_id = first[-1]["id"]
        async with client.stream("GET", stream_url, headers={"Last-Event-ID": last_id}) as response:
            rest = await _read_events(response, None)
        full = await client.get(stream_url, params={"offset": 0})
    events = first + rest
    assert events[-1]["event"] == "exit" and events[-1]["data"]["exit_code"] == 0
    chunks = [e for e in events if e["event"] in ("stdout", "stderr")]
    position = 0
    for chunk in chunks:  # contiguous: each chunk starts where the previous one ended
        assert chunk["data"]["offset"] == position
        position = int(chunk["id"])
    out = "".join(c["data"]["data"] for c in chunks if c["event"] == "stdout")
    err = "".join(c["data"]["data"] for c in chunks if c["event"] == "stderr")
    assert out == "".join(f"out{i}\n" for i in range(1, 41))
    assert err == "".join(f"err{i}\n" for i in range(1, 41))
    replayed = _parse_sse(full.text)
    assert [e["data"] for e in replayed] == [e["data"] for e in events]


async def test_open_stream_holds_a_lease_and_ends_with_the_session(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    url = f"/v1/sessions/{sandbox['id']}"
    cid = (await admin.post(f"{url}/exec", json={"command": "echo up; sleep 60", "background": True})).json()[
        "command_id"
    ]
    stream_url = f"{live.url}{url}/commands/{cid}/stream"
    async with (
        httpx.AsyncClient(headers=admin.headers, timeout=30) as client,
        client.stream("GET", stream_url) as response,
    ):
        texts = response.aiter_text()
        first = await _read_events(response, 1, texts)
        assert first[0]["data"]["data"] == "up\n"
        assert (await admin.get(url)).json()["active_connection_leases"] == 1
        assert (await admin.delete(url)).status_code == 409
        assert (await admin.delete(url, params={"force": "true"})).status_code == 200
        rest = await _read_events(response, None, texts)
    assert rest[-1]["event"] == "exit" and rest[-1]["data"]["status"] == "killed"
