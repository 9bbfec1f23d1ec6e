"""`sandbox.pty` of the async client: the session's terminal over its WebSocket (frames as in
`chasm.client.pty`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chasm.client._base import AsyncTransport, ws_url
from chasm.client.pty import as_bytes, frame_of, refused, resize_frame, terminal_params, ws_headers


class AsyncTerminal:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.exit_code: int | None = None
        self.closed = False

    async def send(self, data: str | bytes) -> None:
        await self._ws.send(as_bytes(data))

    async def resize(self, cols: int, rows: int) -> None:
        await self._ws.send(resize_frame(cols, rows))

    async def recv(self, timeout: float | None = None) -> bytes:
        """The next output; b"" once the shell has ended. TimeoutError after `timeout` seconds."""
        while not self.closed:
            try:
                data, exit_code = frame_of(await asyncio.wait_for(self._ws.recv(), timeout))
            except ConnectionClosed:
                self.closed = True
                break
            if exit_code is not None:
                self.exit_code = exit_code
                continue
            if data:
                return data
        return b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while data := await self.recv():
            yield data

    async def read_until(self, marker: str | bytes, timeout: float = 10.0) -> bytes:
        """Output up to and including `marker`; TimeoutError if it has not come in `timeout`."""
        wanted, seen = as_bytes(marker), b""
        async with asyncio.timeout(timeout):
            while wanted not in seen:
                data = await self.recv()
                if not data:
                    raise EOFError(f"the terminal ended before {marker!r}")
                seen += data
        return seen

    async def close(self) -> None:
        self.closed = True
        await self._ws.close()

    async def __aenter__(self) -> AsyncTerminal:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncPty:
    def __init__(self, transport: AsyncTransport, session_id: str) -> None:
        self._t = transport
        self._path = f"/v1/sessions/{session_id}/pty"

    async def connect(
        self, *, cols: int = 80, rows: int = 24, mode: str = "human", command: str | None = None
    ) -> AsyncTerminal:
        """Open a terminal (mode human, agent, or exec with `command`)."""
        url = ws_url(self._t.base_url, self._path, terminal_params(cols, rows, mode, command))
        try:
            ws = await connect(
                url, additional_headers=ws_headers(self._t.headers), max_size=None, open_timeout=30
            )
        except InvalidStatus as error:
            raise refused(error) from None
        return AsyncTerminal(ws)
