"""`GET /v1/sessions/{id}/pty`: a WebSocket terminal.

Frames from the client: binary or text frames are keystrokes; a text frame holding the JSON
object `{"type": "resize", "cols": C, "rows": R}` resizes the terminal instead. Frames to the
client: binary frames of terminal output, then a text frame `{"type": "exit", "exit_code": N}`
when the shell ends. Every open connection holds a connection lease on the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from chasm.kit.api_tags import Tag
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.sandbox.runtime import runtime_of
from chasm.sandbox.terminals import SHELLS, Terminal
from chasm.sessions.access import authorize, refuse
from chasm.sessions.exceptions import InvalidSessionRequest, SessionNotRunning
from chasm.sessions.service import require_type

router = APIRouter(prefix="/v1/sessions", tags=[Tag.SANDBOX_SESSIONS])

MODES = (*SHELLS, "exec")
_connections = itertools.count(1)


def _size(value: str | None, default: int) -> int:
    if value and len(value) <= 6 and value.isascii() and value.isdigit():
        return max(1, min(int(value), 1000))
    return default


IGNORED = (0, 0)  # a resize frame that is malformed: neither applied nor typed into the terminal


def _dimension(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    if value in (float("inf"), float("-inf")):
        return None
    return max(1, min(int(value), 1000))


def parse_resize(text: str) -> tuple[int, int] | None:
    """(cols, rows) of a resize frame, `IGNORED` for a malformed one, None for terminal input."""
    if not text.startswith("{"):
        return None
    try:
        message: Any = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("type") != "resize":
        return None
    cols, rows = _dimension(message.get("cols")), _dimension(message.get("rows"))
    return (cols, rows) if cols and rows else IGNORED


async def _pump_input(websocket: WebSocket, terminal: Terminal) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data: bytes | None = message.get("bytes")
        text: str | None = message.get("text")
        if text is not None:
            size = parse_resize(text)
            if size is not None:
                if size != IGNORED:
                    await terminal.resize(*size)
                continue
            data = text.encode()
        if data and not terminal.done.is_set():
            await terminal.process.write_stdin(data)


async def _pump_output(websocket: WebSocket, terminal: Terminal, queue: asyncio.Queue[bytes | None]) -> None:
    while True:
        data = await queue.get()
        if data is None:
            await terminal.done.wait()
            await websocket.send_text(json.dumps({"type": "exit", "exit_code": terminal.exit_code}))
            await websocket.close(code=1000)
            return
        await websocket.send_bytes(data)


@router.websocket("/{session_id}/pty")
async def pty(websocket: WebSocket, session_id: str) -> None:
    """WebSocket terminal (modes human | agent | exec)."""
    runtime = runtime_of(websocket.app)
    params = websocket.query_params
    mode = params.get("mode", "human")
    try:
        async with transaction(websocket.app.state.sessionmaker) as db:
            access = await authorize(websocket, db, session_id, "sessions.write")
        require_type(access.row, "sandbox")
        if access.row.status != "running":
            raise SessionNotRunning(session_id)
        if mode not in MODES:
            raise InvalidSessionRequest(f"mode must be one of {', '.join(MODES)}")
        if mode == "exec" and not params.get("command"):
            raise InvalidSessionRequest("mode=exec needs a `command` query parameter")
    except ChasmError as error:
        await refuse(websocket, error)
        return
    sid = str(access.row.id)
    connection = next(_connections)
    with runtime.leases.hold(sid, "pty"):
        try:
            terminal = await runtime.terminals.attach(
                runtime.driver,
                sid,
                mode,
                params.get("command"),
                _size(params.get("cols"), 80),
                _size(params.get("rows"), 24),
                connection,
            )
        except ChasmError as error:
            await refuse(websocket, error)
            return
        await websocket.accept()
        queue = terminal.join()
        reader = asyncio.create_task(_pump_input(websocket, terminal))
        writer = asyncio.create_task(_pump_output(websocket, terminal, queue))
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task
            await runtime.terminals.detach(sid, terminal, queue)
