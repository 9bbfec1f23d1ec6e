"""The HTTP/1.1 client of webhook attempts: one POST to an address already checked, over asyncio
streams, with `httptools` (uvicorn's parser) reading the answer.

A general client costs about 1.4 ms of CPU per request here (httpx measured against this in
`bench/webhooks_jobs.py`); deliveries of one endpoint go out strictly one after another, so that
cost was the ceiling of an endpoint's throughput. This one does only what an attempt needs: it
connects to the given IP (TLS with the URL's host as SNI and for the certificate), sends the
request in one write, reads the status, `Location` and the body up to a cap, keeps the connection
for the next attempt when the answer allows it, and never follows a redirect.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass, field

import httptools

MAX_IDLE_PER_TARGET = 8
READ_SIZE = 65536


@dataclass
class Answer:
    status: int
    location: str | None
    body: bytes


class StaleConnection(Exception):
    """A kept connection was closed by the peer before it answered (sent again on a new one)."""


@dataclass
class _Reading:
    """httptools' callbacks: what the answer says, up to `max_bytes` of its body."""

    max_bytes: int
    body: bytearray = field(default_factory=bytearray)
    location: str | None = None
    headers_done: bool = False
    done: bool = False
    keep_alive: bool = False  # asked of the parser as the answer completes (it resets after)
    cut: bool = False  # more body than kept: the connection is not reused
    parser: httptools.HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"location":
            self.location = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, chunk: bytes) -> None:
        room = self.max_bytes - len(self.body)
        if len(chunk) > room:
            self.cut = True
        if room > 0:
            self.body.extend(chunk[:room])

    def on_message_complete(self) -> None:
        self.done = True
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()


Key = tuple[str, str, int, str]  # scheme, address, port, TLS server name


class WebhookClient:
    def __init__(self) -> None:
        self._idle: dict[Key, deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(
        self,
        key: Key,
        target: str,
        host: str,
        headers: dict[str, str],
        body: bytes,
        *,
        timeout_s: float,
        max_bytes: int,
    ) -> Answer:
        """POST `body` to `target` (path and query) of the address in `key`, reading up to
        `max_bytes` of the answer's body; `TimeoutError` past `timeout_s` (connecting included),
        `OSError` or `httptools.HttpParserError` when the exchange fails."""
        lines = [f"POST {target} HTTP/1.1", f"host: {host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"content-length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with asyncio.timeout(timeout_s):
            kept = self._take(key)
            if kept is not None:
                try:
                    return await self._exchange(key, *kept, request, max_bytes, reused=True)
                except StaleConnection:
                    pass
            reader, writer = await self._connect(key)
            return await self._exchange(key, reader, writer, request, max_bytes, reused=False)

    def _take(self, key: Key) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        idle = self._idle.get(key)
        while idle:
            reader, writer = idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def _connect(self, key: Key) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        scheme, address, port, server_name = key
        if scheme != "https":
            return await asyncio.open_connection(address, port)
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return await asyncio.open_connection(address, port, ssl=self._tls, server_hostname=server_name)

    async def _exchange(
        self,
        key: Key,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: bytes,
        max_bytes: int,
        *,
        reused: bool,
    ) -> Answer:
        reading = _Reading(max_bytes)
        parser = reading.parser = httptools.HttpResponseParser(reading)
        received = False
        try:
            writer.write(request)
            await writer.drain()
            while not reading.done and not reading.cut:
                data = await reader.read(READ_SIZE)
                if not data:
                    if not received and reused:
                        raise StaleConnection()
                    if reading.headers_done:
                        break  # a body that ends with the connection
                    raise ConnectionResetError("the connection closed before an answer")
                received = True
                parser.feed_data(data)
        except StaleConnection:
            writer.close()
            raise
        except (ConnectionError, BrokenPipeError) as exc:
            writer.close()
            if reused and not received:
                raise StaleConnection() from exc
            raise
        except BaseException:
            writer.close()
            raise
        if reading.done and reading.keep_alive and not reading.cut:
            idle = self._idle.setdefault(key, deque())
            if len(idle) < MAX_IDLE_PER_TARGET:
                idle.append((reader, writer))
            else:
                writer.close()
        else:
            writer.close()
        return Answer(parser.get_status_code(), reading.location, bytes(reading.body))

    async def aclose(self) -> None:
        for idle in self._idle.values():
            while idle:
                _reader, writer = idle.pop()
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        self._idle.clear()
