"""Forwarding one HTTP request or WebSocket to a port inside a sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpcore
from fastapi import Request, WebSocket
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from chasm.gateway.exceptions import BadGateway
from chasm.gateway.upstream import SandboxBackend
from chasm.sandbox.drivers.base import SandboxDriver
from chasm.sessions.access import SESSION_TOKEN_HEADER, cookie_name, refuse

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
WS_OWN = {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"}
# Set by the gateway alone: a client's own values would be taken for the gateway's word.
FORWARDING = {
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-real-ip",
}
# Never passed to sandbox code: the gateway's credentials, and the Referer, which carries the
# `?token=` of the page that linked here (an API key or session token).
CREDENTIALS = {"authorization", SESSION_TOKEN_HEADER, "cookie", "referer"}
GATEWAY_COOKIE_PREFIX = cookie_name("")
# Response headers that act on the whole origin; in the path form that origin is the API's own.
ORIGIN_WIDE = {b"service-worker-allowed", b"clear-site-data", b"strict-transport-security"}


def _upstream_target(conn: HTTPConnection, path: str) -> str:
    query = [(k, v) for k, v in conn.query_params.multi_items() if k != "token"]
    return "/" + path.lstrip("/") + (f"?{urlencode(query)}" if query else "")


def _forward_headers(conn: HTTPConnection, session_id: str, port: int, prefix: str) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop ones and the gateway's own credentials."""
    listed = {h.strip().lower() for h in conn.headers.get("connection", "").split(",") if h.strip()}
    drop = HOP_BY_HOP | listed | CREDENTIALS | FORWARDING | {"host", "content-length"}
    headers = [(k, v) for k, v in conn.headers.items() if k.lower() not in drop]
    cookies = [
        part.strip()
        for part in conn.headers.get("cookie", "").split(";")
        if part.strip() and not part.strip().lower().startswith(GATEWAY_COOKIE_PREFIX)
    ]
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    headers += [
        ("host", f"127.0.0.1:{port}"),
        ("x-forwarded-host", conn.headers.get("host", "")),
        ("x-forwarded-proto", conn.url.scheme.replace("ws", "http")),
        ("x-forwarded-prefix", prefix),
    ]
    if conn.client is not None:
        headers.append(("x-forwarded-for", conn.client.host))
    return headers


def _scoped_cookie(value: str, session_id: str, prefix: str) -> str | None:
    """A sandbox's Set-Cookie, kept to its own session (None: dropped).

    A Domain attribute is dropped everywhere: it would widen the cookie from the session's host to
    the base domain, every other session and the API. In the path form (`/s/{id}/...` on the API's
    own origin) a Path outside `/s/{id}/` is moved under the port's prefix, as the app meant it
    (`Path=/` becomes `Path=/s/{id}/forward/{port}/`). A cookie named like the gateway's own
    admission cookies is dropped."""
    name_value, *attributes = value.split(";")
    if name_value.strip().lower().startswith(GATEWAY_COOKIE_PREFIX):
        return None
    own = f"/s/{session_id}/"
    path_form = prefix.startswith(own)
    kept = [name_value.strip()]
    for attribute in attributes:
        key, _, path = attribute.strip().partition("=")
        key = key.strip().lower()
        if key == "domain":
            continue
        if key == "path" and path_form and not path.strip().startswith(own):
            path = path.strip()
            attribute = "Path=" + prefix + (path if path.startswith("/") else "/")
        kept.append(attribute.strip())
    return "; ".join(part for part in kept if part)


def _response_headers(response: httpcore.Response, session_id: str, prefix: str) -> list[tuple[bytes, bytes]]:
    listed = set()
    for key, value in response.headers:
        if key.lower() == b"connection":
            listed |= {h.strip().lower().encode("latin-1") for h in value.decode("latin-1").split(",")}
    drop = {h.encode() for h in HOP_BY_HOP} | listed
    if prefix.startswith(f"/s/{session_id}/"):
        drop |= ORIGIN_WIDE
    headers: list[tuple[bytes, bytes]] = []
    for key, value in response.headers:
        key = key.lower()
        if key in drop:
            continue
        if key == b"set-cookie":
            cookie = _scoped_cookie(value.decode("latin-1"), session_id, prefix)
            if cookie is None:
                continue
            value = cookie.encode("latin-1")
        headers.append((key, value))
    return headers


async def forward_http(
    request: Request, driver: SandboxDriver, session_id: str, port: int, path: str, prefix: str
) -> StreamingResponse:
    headers = _forward_headers(request, session_id, port, prefix)
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    content: AsyncIterator[bytes] | bytes = b""
    if length is not None:
        headers.append(("content-length", length))
        content = request.stream()
    elif chunked:
        headers.append(("transfer-encoding", "chunked"))
        content = request.stream()
    pool = httpcore.AsyncConnectionPool(network_backend=SandboxBackend(driver, session_id), retries=0)
    upstream = httpcore.Request(
        request.method,
        httpcore.URL(
            scheme=b"http", host=b"127.0.0.1", port=port, target=_upstream_target(request, path).encode()
        ),
        headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        content=content,
        extensions={"timeout": {"connect": 10.0, "read": 300.0, "write": 60.0, "pool": 10.0}},
    )
    try:
        response = await pool.handle_async_request(upstream)
    except httpcore.TimeoutException as exc:
        await pool.aclose()
        raise BadGateway(f"port {port} in the sandbox did not answer in time", status_code=504) from exc
    except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        await pool.aclose()
        raise BadGateway(f"port {port} in the sandbox: {exc}") from exc
    out_headers = _response_headers(response, session_id, prefix)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in response.aiter_stream():  # type: ignore[attr-defined]
            yield chunk

    async def close() -> None:
        await response.aclose()
        await pool.aclose()

    streaming = StreamingResponse(body(), status_code=response.status, background=BackgroundTask(close))
    streaming.raw_headers = out_headers
    return streaming


class UpstreamWebSocket:
    """A WebSocket client over the driver's stream pair (sans-I/O `websockets` protocol)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: ClientProtocol):
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self._parts: list[bytes] = []
        self._opcode: Opcode | None = None

    async def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            elif self.writer.can_write_eof():
                self.writer.write_eof()
        await self.writer.drain()

    @classmethod
    async def connect(
        cls,
        driver: SandboxDriver,
        session_id: str,
        port: int,
        target: str,
        headers: list[tuple[str, str]],
        subprotocols: list[str],
    ) -> tuple[UpstreamWebSocket, str | None]:
        try:
            reader, writer = await driver.open_port(session_id, port)
        except Exception as exc:
            raise BadGateway(f"nothing answers on port {port} in the sandbox: {exc}") from exc
        protocol = ClientProtocol(
            parse_uri(f"ws://127.0.0.1:{port}{target}"),
            subprotocols=subprotocols or None,  # type: ignore[arg-type]
        )
        request = protocol.connect()
        for key, value in headers:
            if key.lower() not in WS_OWN and key.lower() != "host":
                request.headers[key] = value
        protocol.send_request(request)
        upstream = cls(reader, writer, protocol)
        await upstream.flush()
        while True:
            data = await reader.read(65536)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, WsResponse):
                    if protocol.handshake_exc is not None:
                        writer.close()
                        raise BadGateway(f"the sandbox refused the WebSocket: {protocol.handshake_exc}")
                    return upstream, event.headers.get("Sec-WebSocket-Protocol")
            if not data:
                raise BadGateway("the sandbox closed the connection during the WebSocket handshake")

    async def send(self, text: str | None, data: bytes | None) -> None:
        if text is not None:
            self.protocol.send_text(text.encode())
        elif data is not None:
            self.protocol.send_binary(data)
        await self.flush()

    async def close(self, code: int = 1000) -> None:
        with contextlib.suppress(Exception):
            self.protocol.send_close(code)
            await self.flush()
        self.writer.close()

    async def messages(self) -> AsyncIterator[tuple[Opcode, bytes]]:
        """Whole messages from upstream until it closes."""
        while True:
            data = await self.reader.read(65536)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            for event in self.protocol.events_received():
                if isinstance(event, Frame):
                    message = self._assemble(event)
                    if message is not None:
                        yield message
            await self.flush()
            if not data or self.protocol.close_rcvd is not None:
                return

    def _assemble(self, frame: Frame) -> tuple[Opcode, bytes] | None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._opcode, self._parts = frame.opcode, [bytes(frame.data)]
        elif frame.opcode == Opcode.CONT:
            self._parts.append(bytes(frame.data))
        else:
            return None
        if not frame.fin or self._opcode is None:
            return None
        message = (self._opcode, b"".join(self._parts))
        self._opcode, self._parts = None, []
        return message


async def forward_websocket(
    websocket: WebSocket,
    driver: SandboxDriver,
    session_id: str,
    port: int,
    path: str,
    prefix: str,
    drop: frozenset[str] = frozenset(),
) -> None:
    headers = _forward_headers(websocket, session_id, port, prefix)
    headers = [(k, v) for k, v in headers if k.lower() not in drop]
    requested = [
        p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()
    ]
    try:
        upstream, subprotocol = await UpstreamWebSocket.connect(
            driver, session_id, port, _upstream_target(websocket, path), headers, requested
        )
    except (BadGateway, InvalidHandshake) as exc:
        await refuse(websocket, exc if isinstance(exc, BadGateway) else BadGateway(str(exc)))
        return
    await websocket.accept(subprotocol=subprotocol)

    async def client_to_upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(message.get("code", 1000) or 1000)
                return
            await upstream.send(message.get("text"), message.get("bytes"))

    async def upstream_to_client() -> None:
        async for opcode, data in upstream.messages():
            if opcode == Opcode.TEXT:
                await websocket.send_text(data.decode("utf-8", "replace"))
            else:
                await websocket.send_bytes(data)
        close = upstream.protocol.close_rcvd
        with contextlib.suppress(Exception):
            await websocket.close(code=close.code if close is not None else 1000)

    tasks = {asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await upstream.close()
