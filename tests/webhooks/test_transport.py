"""The attempts' HTTP client against raw HTTP/1.1 servers: chunked and read-until-close answers,
a body past the cap, and a kept connection the server closed in between (sent again on a new
one)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from chasm.webhooks.transport import WebhookClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"content-length")
    )
    return await reader.readexactly(length)


async def _post(
    client: WebhookClient, port: int, body: bytes = b"{}", max_bytes: int = 4096
) -> tuple[int, bytes]:
    answer = await client.post(
        ("http", "127.0.0.1", port, "127.0.0.1"),
        "/hook?x=1",
        f"127.0.0.1:{port}",
        {"content-type": "application/json"},
        body,
        timeout_s=2,
        max_bytes=max_bytes,
    )
    return answer.status, answer.body


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_answers_of_every_framing() -> None:
    connections = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        body = await _read_request(reader)  # chunked, kept open
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\n"
            + body
            + b"\r\n0\r\n\r\n"
        )
        await writer.drain()
        try:
            await _read_request(reader)  # the same connection again: no length, ends with it
        except asyncio.IncompleteReadError:
            writer.close()  # the client did not keep this one (its answer was cut)
            return
        writer.write(b"HTTP/1.1 500 Oops\r\nconnection: close\r\n\r\n" + b"x" * 10)
        await writer.drain()
        writer.close()

    server, port = await _serve(handler)
    client = WebhookClient()
    try:
        assert await _post(client, port) == (200, b"abc{}")
        assert await _post(client, port) == (500, b"x" * 10)
        assert len(connections) == 1
        status, body = await _post(client, port, max_bytes=4)  # a new connection, the body cut
        assert (status, body) == (200, b"abc{")
    finally:
        await client.aclose()
        server.close()
        for writer in connections:  # the server's ends too, the last handler may still be reading
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()


async def test_a_kept_connection_closed_by_the_server_is_replaced() -> None:
    seen = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # keep-alive by default, then closed
        await writer.drain()
        writer.close()

    server, port = await _serve(handler)
    client = WebhookClient()
    try:
        assert await _post(client, port, b"1") == (204, b"")
        await asyncio.sleep(0)  # the close may or may not have been seen yet
        assert await _post(client, port, b"2") == (204, b"")
        assert seen == [b"1", b"2"]
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
