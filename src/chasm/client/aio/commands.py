"""`sandbox.commands` and `sandbox.files` of the async client (see `chasm.client.commands` and
`chasm.client.files` for what they do)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Literal, overload

import httpx

from chasm.client._base import AsyncTransport, EventDecoder, check
from chasm.client.commands import RECONNECTS, Collector, exec_body, result_of
from chasm.client.errors import StreamError
from chasm.client.files import (
    LIST_SCRIPT,
    PATH_VAR,
    REMOVE_SCRIPT,
    ROOT,
    parse_listing,
    script_failed,
    upload_parts,
)
from chasm.client.models import CommandInfo, CommandResult, FileEntry, FileInfo, OutputChunk
from chasm.client.pages import PAGE, Page, awalk, page_of


class AsyncCommandHandle:
    """A background command: `async for chunk in handle`, or `await handle.wait()`."""

    def __init__(self, transport: AsyncTransport, session_id: str, command_id: str, pid: int | None) -> None:
        self._t = transport
        self.session_id = session_id
        self.id = command_id
        self.pid = pid
        self._path = f"/v1/sessions/{session_id}/commands/{command_id}"

    def __repr__(self) -> str:
        return f"AsyncCommandHandle(id={self.id!r}, pid={self.pid!r}, session_id={self.session_id!r})"

    def __aiter__(self) -> AsyncIterator[OutputChunk]:
        return self.stream()

    async def stream(self, offset: int = 0) -> AsyncIterator[OutputChunk]:
        """Output from byte `offset` on, ending with the exit chunk; a dropped connection is
        resumed where it stopped."""
        failures = 0
        while True:
            try:
                async with self._t.http.stream(
                    "GET", f"{self._path}/stream", headers={"Last-Event-ID": str(offset)}, timeout=None
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        check(response)
                    decoder = EventDecoder()
                    async for line in response.aiter_lines():
                        chunk = decoder.feed(line)
                        if chunk is None:
                            continue
                        failures, offset = 0, chunk.end
                        yield chunk
                        if chunk.is_exit:
                            return
            except httpx.TransportError as error:
                failures += 1
                if failures > RECONNECTS:
                    raise StreamError(f"the output stream of command {self.id} broke: {error}") from error
                await asyncio.sleep(min(0.2 * failures, 1.0))

    async def lines(self) -> AsyncIterator[tuple[str, str]]:
        """(stream, line) pairs of the output, stream being stdout or stderr."""
        pending: dict[str, str] = {}
        async for chunk in self.stream():
            if chunk.is_exit:
                break
            *lines, rest = (pending.pop(chunk.stream, "") + chunk.data).split("\n")
            for line in lines:
                yield chunk.stream, line
            if rest:
                pending[chunk.stream] = rest
        for stream, rest in pending.items():
            yield stream, rest

    async def wait(
        self,
        on_stdout: Callable[[str], object] | None = None,
        on_stderr: Callable[[str], object] | None = None,
    ) -> CommandResult:
        collector = Collector(on_stdout, on_stderr)
        async for chunk in self.stream():
            collector.add(chunk)
        return collector.result(self.session_id)

    async def info(self) -> CommandInfo:
        return CommandInfo.from_dict(await self._t.request("GET", self._path))

    async def send_stdin(self, data: str, *, eof: bool = False) -> CommandInfo:
        payload = {"data": data, "eof": eof}
        return CommandInfo.from_dict(await self._t.request("POST", f"{self._path}/stdin", json=payload))

    async def close_stdin(self) -> CommandInfo:
        return await self.send_stdin("", eof=True)

    async def kill(self, signal: str | int = "TERM") -> CommandInfo:
        data = await self._t.request("POST", f"{self._path}/kill", json={"signal": signal})
        return CommandInfo.from_dict(data)


class AsyncCommands:
    def __init__(self, transport: AsyncTransport, session_id: str) -> None:
        self._t = transport
        self.session_id = session_id
        self._base = f"/v1/sessions/{session_id}"

    @overload
    async def run(
        self,
        command: str,
        *,
        background: Literal[False] = False,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult: ...

    @overload
    async def run(
        self,
        command: str,
        *,
        background: Literal[True],
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncCommandHandle: ...

    async def run(
        self,
        command: str,
        *,
        background: bool = False,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult | AsyncCommandHandle:
        """As `Commands.run`: wait for the command, or (background) return a handle at once."""
        payload = exec_body(command, cwd=cwd, env=env, timeout=timeout, background=background)
        data = await self._t.request("POST", f"{self._base}/exec", json=payload)
        if background:
            return AsyncCommandHandle(self._t, self.session_id, data["command_id"], data.get("pid"))
        return result_of(data)

    async def list(self) -> builtins.list[CommandInfo]:
        """The session's background commands, oldest first (every page)."""
        return [c async for c in awalk(self._page)]

    async def _page(self, offset: int) -> Page[CommandInfo]:
        params = {"limit": PAGE, "offset": offset}
        data = await self._t.request("GET", f"{self._base}/commands", params=params)
        return page_of(data, CommandInfo.from_dict, limit=PAGE, offset=offset)

    async def get(self, command_id: str) -> CommandInfo:
        return CommandInfo.from_dict(await self._t.request("GET", f"{self._base}/commands/{command_id}"))

    async def connect(self, command_id: str) -> AsyncCommandHandle:
        info = await self.get(command_id)
        return AsyncCommandHandle(self._t, self.session_id, info.id, info.pid)


class AsyncFiles:
    def __init__(self, transport: AsyncTransport, session_id: str, commands: AsyncCommands) -> None:
        self._t = transport
        self._base = f"/v1/sessions/{session_id}"
        self._commands = commands

    async def write(self, path: str, content: str | bytes | Path) -> FileInfo:
        """Create or replace the file at `path` (text is written as UTF-8)."""
        data = content.read_bytes() if isinstance(content, Path) else content
        answer = await self._t.request("POST", f"{self._base}/upload", **upload_parts(path, data))
        return FileInfo.from_dict(answer)

    async def read_bytes(self, path: str) -> bytes:
        return await self._t.content("GET", f"{self._base}/download", params={"path": path})

    async def read(self, path: str, encoding: str = "utf-8") -> str:
        return (await self.read_bytes(path)).decode(encoding)

    async def list(self, path: str = ".") -> builtins.list[FileEntry]:
        result = await self._commands.run(LIST_SCRIPT, cwd=ROOT, env={PATH_VAR: path})
        if result.exit_code != 0:
            raise script_failed(path, result.exit_code, result.output)
        return parse_listing(result.output)

    async def remove(self, path: str) -> None:
        result = await self._commands.run(REMOVE_SCRIPT, cwd=ROOT, env={PATH_VAR: path})
        if result.exit_code != 0:
            raise script_failed(path, result.exit_code, result.output)
