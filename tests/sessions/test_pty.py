from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from sessions.fixtures import LiveServer

pytestmark = pytest.mark.sandbox


async def _read_until(ws: ClientConnection, needle: str, timeout: float = 15) -> str:
    seen = ""

    async def loop() -> str:
        nonlocal seen
        while needle not in seen:
            message = await ws.recv()
            seen += message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return seen

    try:
        return await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"{needle!r} not seen in {seen!r}") from None


def _auth(admin: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": admin.headers["Authorization"]}


async def test_shared_terminal_with_several_clients(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    url = f"{live.ws_url}/v1/sessions/{sandbox['id']}/pty?mode=agent"
    async with (
        connect(url, additional_headers=_auth(admin)) as a,
        connect(url + f"&token={sandbox['access_token']}") as b,
    ):
        await a.send("echo joined-$((40+2))\n")
        await _read_until(a, "joined-42")
        await _read_until(b, "joined-42")
        await b.send(b"echo from-b-$((1+1))\n")
        await _read_until(a, "from-b-2")

        got = (await admin.get(f"/v1/sessions/{sandbox['id']}")).json()
        assert got["active_connection_leases"] == 2
        busy = await admin.delete(f"/v1/sessions/{sandbox['id']}")
        assert busy.status_code == 409

        await a.send(json.dumps({"type": "resize", "cols": 123, "rows": 45}))
        await a.send("stty size\n")
        await _read_until(b, "45 123")
        r = await admin.post(f"/v1/sessions/{sandbox['id']}/resize", json={"cols": 100, "rows": 30})
        assert r.json() == {"cols": 100, "rows": 30, "terminals": 1}
        await b.send("stty size\n")
        await _read_until(a, "30 100")

    for _ in range(100):
        if (await admin.get(f"/v1/sessions/{sandbox['id']}")).json()["active_connection_leases"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await admin.get(f"/v1/sessions/{sandbox['id']}")).json()["active_connection_leases"] == 0


async def test_exec_mode_runs_the_command_and_closes(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    command = "echo%20done-%24((2*3))%3B%20exit%205"
    url = f"{live.ws_url}/v1/sessions/{sandbox['id']}/pty?mode=exec&command={command}"
    async with connect(url, additional_headers=_auth(admin)) as ws:
        seen = await _read_until(ws, '"type": "exit"')
        assert "done-6" in seen
        assert '"exit_code": 5' in seen


async def test_human_mode_is_an_interactive_shell(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    url = f"{live.ws_url}/v1/sessions/{sandbox['id']}/pty?mode=human"
    async with connect(url, additional_headers=_auth(admin)) as ws:
        await ws.send("echo $TERM-$((6*7)); stty size; echo end-$((1+1))\n")
        seen = await _read_until(ws, "end-2")
        assert "xterm-256color-42" in seen and "24 80" in seen
        assert "$ " in seen  # the interactive prompt


async def test_pty_refuses_strangers(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    base = f"{live.ws_url}/v1/sessions/{sandbox['id']}/pty"
    with pytest.raises(InvalidStatus) as anonymous:
        async with connect(base):
            pass
    assert anonymous.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong:
        async with connect(base + "?token=not-the-token"):
            pass
    assert wrong.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as bad_mode:
        async with connect(base + "?mode=bogus", additional_headers=_auth(admin)):
            pass
    assert bad_mode.value.response.status_code == 400


async def test_malformed_sizes_never_break_the_terminal(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    url = f"{live.ws_url}/v1/sessions/{sandbox['id']}/pty?mode=agent&cols=%C2%B2&rows=%C2%B3"
    async with connect(url, additional_headers=_auth(admin)) as ws:  # cols=²: the defaults apply
        await ws.send("stty size\n")
        await _read_until(ws, "24 80")
        for frame in (
            '{"type": "resize", "cols": Infinity, "rows": 10}',
            '{"type": "resize", "cols": NaN, "rows": 10}',
            '{"type": "resize", "cols": 1e400, "rows": 1e400}',
            '{"type": "resize", "cols": "wide", "rows": 10}',
            '{"type": "resize", "cols": ' + "[" * 5000 + "]" * 5000 + ', "rows": 1}',
            "{" * 100_000,
        ):
            await ws.send(frame)
        await ws.send("\nstty size; echo still-$((6*7))\n")
        seen = await _read_until(ws, "still-42")
        assert "24 80" in seen


async def test_refused_handshakes_log_no_error(live: LiveServer) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn")  # uvicorn's loggers do not propagate to the root
    logger.addHandler(handler)
    try:
        for _ in range(3):
            with pytest.raises(InvalidStatus):
                async with connect(f"{live.ws_url}/v1/sessions/nope/pty"):
                    pass
        await asyncio.sleep(0.1)
    finally:
        logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if r.levelno >= logging.ERROR]
