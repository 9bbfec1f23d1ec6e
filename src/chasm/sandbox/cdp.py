"""A minimal Chrome DevTools Protocol client over a session's own port (`driver.open_port`).

The host never reaches a browser over the host's network: every connection is a socket made in
the session's network namespace, so this works the same for every network mode. HTTP (the
`/json/*` listing) is one request per connection; the WebSocket is the sans-I/O protocol of
`websockets` over the driver's stream pair. Foreign errors become `CdpError` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import PayloadTooBig
from websockets.frames import Frame, Opcode
from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from chasm.sandbox.drivers.base import SandboxDriver, SandboxError

CDP_PORT = 9222
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # a full-page screenshot arrives as one base64 message


class CdpError(SandboxError):
    status_code = 502
    code = "browser_error"


class CdpCallFailed(CdpError):
    """Chromium answered a call with an error (a bad selector, a closed target...)."""

    status_code = 400
    code = "browser_call_failed"


async def http_json(driver: SandboxDriver, session_id: str, target: str, method: str = "GET") -> Any:
    """GET (or PUT) `target` on the browser's DevTools HTTP server; the parsed JSON answer."""
    status, body = await http_raw(driver, session_id, target, method)
    if status != 200:
        raise CdpError(f"the browser answered {status} to {target}: {body[:200]!r}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise CdpError(f"the browser sent no JSON for {target}") from exc


async def http_raw(
    driver: SandboxDriver, session_id: str, target: str, method: str = "GET", timeout: float = 10.0
) -> tuple[int, bytes]:
    try:
        reader, writer = await asyncio.wait_for(driver.open_port(session_id, CDP_PORT), timeout)
    except (OSError, TimeoutError) as exc:
        raise CdpError(f"the browser does not answer: {exc}") from exc
    try:
        request = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{CDP_PORT}\r\nConnection: close\r\n"
        writer.write((request + "Content-Length: 0\r\n\r\n").encode())
        await writer.drain()
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            # Chromium keeps the connection open: read exactly the announced body.
            body = await reader.readexactly(int(found.group(1))) if found else await reader.read(-1)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise CdpError(f"the browser did not answer {target}: {exc!r}") from exc
    finally:
        writer.close()
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise CdpError(f"the browser sent no HTTP answer for {target}") from exc
    return status, body


class CdpConnection:
    """One DevTools WebSocket (`/devtools/browser/...` or `/devtools/page/...`)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: ClientProtocol):
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._parts: list[bytes] = []
        self._pump: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(
        cls,
        driver: SandboxDriver,
        session_id: str,
        path: str,
        timeout: float = 10.0,
        max_size: int = MAX_MESSAGE_BYTES,
    ) -> CdpConnection:
        """Connect to `path`; a message over `max_size` bytes fails its call with
        `MessageTooLarge` and ends the connection."""
        try:
            reader, writer = await asyncio.wait_for(driver.open_port(session_id, CDP_PORT), timeout)
        except (OSError, TimeoutError) as exc:
            raise CdpError(f"the browser does not answer: {exc}") from exc
        protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{CDP_PORT}{path}"), max_size=max_size)
        protocol.send_request(protocol.connect())
        conn = cls(reader, writer, protocol)
        try:
            await asyncio.wait_for(conn._handshake(), timeout)
        except BaseException:
            writer.close()
            raise
        conn._pump = asyncio.create_task(conn._run(), name=f"cdp-{session_id}")
        return conn

    async def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def _handshake(self) -> None:
        await self._flush()
        while True:
            data = await self.reader.read(65536)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            for event in self.protocol.events_received():
                if isinstance(event, WsResponse):
                    if self.protocol.handshake_exc is not None:
                        raise CdpError(
                            f"the browser refused the DevTools socket: {self.protocol.handshake_exc}"
                        )
                    return
            if not data:
                raise CdpError("the browser closed the DevTools socket during the handshake")

    async def _run(self) -> None:
        try:
            while True:
                data = await self.reader.read(1 << 20)
                if data:
                    self.protocol.receive_data(data)
                else:
                    self.protocol.receive_eof()
                for event in self.protocol.events_received():
                    if isinstance(event, Frame):
                        self._frame(event)
                await self._flush()
                if not data or self.protocol.close_rcvd is not None:
                    break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed.set()
            too_big = isinstance(self.protocol.parser_exc, PayloadTooBig)
            for future in self._pending.values():
                if future.done():
                    continue
                if too_big:
                    too_large = f"the browser's answer is too large: {self.protocol.parser_exc}"
                    future.set_exception(MessageTooLarge(too_large))
                else:
                    future.set_exception(PageClosed("the browser closed the DevTools connection"))
            self._pending.clear()

    def _frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._parts = [bytes(frame.data)]
        elif frame.opcode == Opcode.CONT:
            self._parts.append(bytes(frame.data))
        else:
            return
        if not frame.fin:
            return
        message = json.loads(b"".join(self._parts))
        self._parts = []
        if "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        for listener in list(self._listeners):
            listener(message)

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call `listener` with every event; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0
    ) -> dict[str, Any]:
        if self.closed.is_set():
            raise PageClosed("the page or browser is closed")
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        self.protocol.send_text(
            json.dumps({"id": call_id, "method": method, "params": params or {}}).encode()
        )
        try:
            await self._flush()
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise CdpError(f"the browser did not answer {method} in {timeout:g} s", status_code=504) from exc
        except OSError as exc:
            raise PageClosed(f"the DevTools connection broke: {exc}") from exc
        finally:
            self._pending.pop(call_id, None)
        if "error" in answer:
            error = answer["error"]
            raise CdpCallFailed(f"{method}: {error.get('message', error)}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.protocol.send_close(1000)
            await self._flush()
        self.writer.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump

    async def __aenter__(self) -> CdpConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class MessageTooLarge(CdpError):
    status_code = 413
    code = "result_too_large"


class PageClosed(CdpError):
    status_code = 409
    code = "page_closed"
