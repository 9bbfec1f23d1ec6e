"""`command.exited` of background commands: the webhook endpoint receives a signed delivery when a
background command ends, and the bus announces it after the commit; an exit no server reported
is reported by the next one, once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from receiver import Receiver
from webhook_helpers import wait_for_api, wait_until

pytestmark = pytest.mark.sandbox


async def test_a_background_command_exit_is_delivered_signed(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await admin.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["command.exited"]})
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    announced = app.state.events.subscribe("command.exited")

    session = (await admin.post("/v1/sessions", json={"ephemeral": True})).json()
    url = f"/v1/sessions/{session['id']}"
    started = await admin.post(f"{url}/exec", json={"command": "sh -c 'exit 3'", "background": True})
    assert started.status_code == 200, started.text
    command_id = started.json()["command_id"]

    await wait_until(lambda: len(receiver.delivered()) == 1)
    got = receiver.delivered()[0]
    assert got.verified and got.type == "command.exited"
    assert got.data["session_id"] == session["id"] and got.data["command_id"] == command_id
    assert got.data["exit_code"] == 3 and got.data["status"] == "exited" and got.data["background"]
    assert got.data["command"] == "sh -c 'exit 3'" and got.data["duration_ms"] >= 0
    event = await announced.get(timeout=5)
    assert event.payload["command_id"] == command_id and event.payload["exit_code"] == 3
    announced.close()

    # A foreground command reports too, without a command id; and each exit is sent once.
    ran = await admin.post(f"{url}/exec", json={"command": "exit 4"})
    assert ran.json()["exit_code"] == 4
    await wait_until(lambda: len(receiver.delivered()) == 2)
    foreground = receiver.delivered()[1].data
    assert foreground["exit_code"] == 4 and foreground["command_id"] is None and not foreground["background"]
    listed = (await admin.get(f"{url}/commands")).json()["items"]
    assert [c["exit_code"] for c in listed] == [3]
    await admin.delete(url)
    assert len(receiver.requests) == 2


async def test_an_exit_no_server_reported_is_reported_once_by_the_next(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await admin.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["command.exited"]})
    receiver.secret = r.json()["secret"]
    session = (await admin.post("/v1/sessions", json={"ephemeral": True})).json()
    url = f"/v1/sessions/{session['id']}"
    runtime = app.state.sandbox
    hook, runtime.commands.on_exit = runtime.commands.on_exit, None  # as if no server ran
    started = (await admin.post(f"{url}/exec", json={"command": "exit 5", "background": True})).json()

    async def ended() -> bool:
        listed = (await admin.get(f"{url}/commands")).json()["items"]
        return bool(listed) and listed[0]["status"] == "exited"

    await wait_for_api(ended)
    runtime.commands.on_exit = hook
    # A restarted server reads the session's commands back: the unreported exit goes out, once.
    await runtime.commands.load(runtime.driver, session["id"])
    await wait_until(lambda: len(receiver.delivered()) == 1)
    await runtime.commands.load(runtime.driver, session["id"])
    await asyncio.sleep(0.3)
    got = [r.data for r in receiver.delivered()]
    assert len(got) == 1 and got[0]["command_id"] == started["command_id"] and got[0]["exit_code"] == 5
