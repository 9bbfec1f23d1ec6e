"""`sandbox.pty`: the session's terminal over its WebSocket (`/v1/sessions/{id}/pty`).

Keystrokes go as binary frames; a resize is the text frame `{"type": "resize", "cols", "rows"}`.
The server sends binary frames of terminal output, then `{"type": "exit", "exit_code"}` when the
shell ends."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chasm.client._base import SyncTransport, ws_url
from chasm.client.errors import ChasmAPIError, error_from_response


def refused(error: InvalidStatus) -> ChasmAPIError:
    response = error.response
    return error_from_response(
        response.status_code, dict(response.headers.raw_items()), bytes(response.body or b"")
    )


def frame_of(message: str | bytes) -> tuple[bytes, int | None]:
    """(output, exit code): the exit frame carries no output."""
    if isinstance(message, bytes):
        return message, None
    if message.startswith('{"type": "exit"'):
        return b"", int(json.loads(message).get("exit_code") or 0)
    return message.encode(), None


def resize_frame(cols: int, rows: int) -> str:
    return json.dumps({"type": "resize", "cols": cols, "rows": rows})


def as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def ws_headers(headers: dict[str, str]) -> dict[str, str]:
    """The client's headers for a WebSocket handshake (websockets sends its own User-Agent)."""
    return {k: v for k, v in headers.items() if k.lower() != "user-agent"}


def terminal_params(cols: int, rows: int, mode: str, command: str | None) -> dict[str, Any]:
    return {"mode": mode, "cols": cols, "rows": rows, "command": command}


class Terminal:
    """An open terminal: `send` keystrokes, `recv` output, `read_until` a marker; `exit_code` is
    set once the shell has ended."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.exit_code: int | None = None
        self.closed = False

    def send(self, data: str | bytes) -> None:
        self._ws.send(as_bytes(data))

    def resize(self, cols: int, rows: int) -> None:
        self._ws.send(resize_frame(cols, rows))

    def recv(self, timeout: float | None = None) -> bytes:
        """The next output; b"" once the shell has ended. TimeoutError after `timeout` seconds."""
        while not self.closed:
            try:
                data, exit_code = frame_of(self._ws.recv(timeout))
            except ConnectionClosed:
                self.closed = True
                break
            if exit_code is not None:
                self.exit_code = exit_code
                continue
            if data:
                return data
        return b""

    def __iter__(self) -> Iterator[bytes]:
        while data := self.recv():
            yield data

    def read_until(self, marker: str | bytes, timeout: float = 10.0) -> bytes:
        """Output up to and including `marker`; TimeoutError if it has not come in `timeout`."""
        wanted, seen = as_bytes(marker), b""
        deadline = time.monotonic() + timeout
        while wanted not in seen:
            left = deadline - time.monotonic()
            data = self.recv(max(left, 0.001))
            if not data:
                raise EOFError(f"the terminal ended before {marker!r}")
            seen += data
        return seen

    def close(self) -> None:
        self.closed = True
        self._ws.close()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pty:
    def __init__(self, transport: SyncTransport, session_id: str) -> None:
        self._t = transport
        self._path = f"/v1/sessions/{session_id}/pty"

    def connect(
        self, *, cols: int = 80, rows: int = 24, mode: str = "human", command: str | None = None
    ) -> Terminal:
        """Open a terminal (mode human, agent, or exec with `command`)."""
        url = ws_url(self._t.base_url, self._path, terminal_params(cols, rows, mode, command))
        try:
            # Entered at once: websockets >= 17.1 warns when a connection is used unentered.
            ws = connect(url, additional_headers=ws_headers(self._t.headers), max_size=None, open_timeout=30)
            ws = ws.__enter__()
        except InvalidStatus as error:
            raise refused(error) from None
        return Terminal(ws)

    def url(self, *, mode: str = "human", command: str | None = None) -> str:
        """The terminal's WebSocket URL (send the client's Authorization header with it)."""
        return ws_url(self._t.base_url, self._path, {"mode": mode, "command": command})
