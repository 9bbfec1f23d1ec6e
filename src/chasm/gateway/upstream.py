"""HTTP and WebSocket clients that reach a port inside a sandbox through `driver.open_port`.

httpcore speaks HTTP/1.1 over whatever stream its network backend returns, so the backend here
returns the driver's stream pair; WebSockets use the sans-I/O protocol of `websockets`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

from chasm.sandbox.drivers.base import SandboxDriver


class SandboxStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await asyncio.wait_for(self.reader.read(max_bytes), timeout)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self.writer.write(buffer)
            await asyncio.wait_for(self.writer.drain(), timeout)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("TLS to a sandbox port is not supported")

    def get_extra_info(self, info: str) -> Any:
        return None


class SandboxBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, driver: SandboxDriver, session_id: str) -> None:
        self.driver = driver
        self.session_id = session_id

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            reader, writer = await asyncio.wait_for(self.driver.open_port(self.session_id, port), timeout)
        except Exception as exc:
            raise httpcore.ConnectError(f"nothing answers on port {port} in the sandbox: {exc}") from exc
        return SandboxStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not forwarded")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
