"""Background commands: their output is kept on disk and addressed by byte offset.

Output of stdout and stderr is appended, as produced, to one file per command; every chunk is
indexed by (start offset, stream). A stream reader asks for everything after an offset, so a
client that reconnects with the last offset it saw gets the rest without loss or duplication.
Chunks always end on a UTF-8 character boundary so each one decodes on its own.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from chasm.kit.timeutil import utcnow
from chasm.sessions.drivers.base import SandboxProcess


def _utf8_cut(data: bytes) -> int:
    """Length of the longest prefix of data that does not end inside a UTF-8 sequence."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # continuation byte: keep looking for the lead byte
            continue
        if byte & 0x80 == 0:
            return len(data)
        need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
        return len(data) if back >= need else len(data) - back
    return len(data)


@dataclass
class Chunk:
    start: int
    stream: str
    data: bytes

    @property
    def end(self) -> int:
        return self.start + len(self.data)


@dataclass
class BackgroundCommand:
    id: str
    session_id: str
    command: str
    process: SandboxProcess
    log_path: Path
    cap_bytes: int
    started_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None
    exit_code: int | None = None
    killed: bool = False
    output_truncated: bool = False
    _starts: list[int] = field(default_factory=list)
    _streams: list[str] = field(default_factory=list)
    _size: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def status(self) -> str:
        if self.ended_at is None:
            return "running"
        return "killed" if self.killed else "exited"

    @property
    def size(self) -> int:
        return self._size

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        self._task = asyncio.create_task(self._pump(), name=f"command-{self.id}")

    async def _append(self, stream: str, data: bytes) -> None:
        if not data:
            return
        room = self.cap_bytes - self._size
        if room <= 0:
            self.output_truncated = True
            return
        if len(data) > room:
            data = data[: _utf8_cut(data[:room])]
            self.output_truncated = True
            if not data:
                return
        with self.log_path.open("ab") as fh:
            fh.write(data)
        async with self._changed:
            self._starts.append(self._size)
            self._streams.append(stream)
            self._size += len(data)
            self._changed.notify_all()

    async def _pump(self) -> None:
        pending: dict[str, bytes] = {}
        try:
            async for chunk in self.process.output():
                data = pending.pop(chunk.stream, b"") + chunk.data
                cut = _utf8_cut(data)
                if cut < len(data):
                    pending[chunk.stream] = data[cut:]
                await self._append(chunk.stream, data[:cut])
            for stream, rest in pending.items():
                await self._append(stream, rest)
            code = await self.process.wait()
        except Exception:  # the sandbox went away under the command
            code = -9
        async with self._changed:
            self.exit_code = code
            self.ended_at = utcnow()
            self._changed.notify_all()

    def chunks_from(self, offset: int) -> list[Chunk]:
        """The output after byte `offset` as chunks (the first one sliced if offset falls inside it)."""
        if offset >= self._size:
            return []
        index = max(bisect.bisect_right(self._starts, offset) - 1, 0)
        ends = self._starts[1:] + [self._size]
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(self._size - offset)
        chunks = []
        for i in range(index, len(self._starts)):
            start, end = max(self._starts[i], offset), ends[i]
            chunks.append(Chunk(start, self._streams[i], data[start - offset : end - offset]))
        return chunks

    async def follow(self, offset: int) -> AsyncIterator[Chunk]:
        """Chunks after `offset`, waiting for new output until the command has ended."""
        while True:
            chunks = self.chunks_from(offset)
            for chunk in chunks:
                yield chunk
                offset = chunk.end
            async with self._changed:
                if self._size > offset:
                    continue
                if self.ended_at is not None:
                    return
                await self._changed.wait()

    async def kill(self, signum: int) -> None:
        if self.ended_at is None:
            self.killed = True
            await self.process.signal(signum)

    async def close(self) -> None:
        """The session ended: stop pumping and release every follower."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        async with self._changed:
            if self.ended_at is None:
                self.ended_at = utcnow()
                self.killed = True
            self._changed.notify_all()


class CommandRegistry:
    """Background commands of this server process, by session."""

    def __init__(self, root: Path, cap_bytes: int) -> None:
        self.root = root
        self.cap_bytes = cap_bytes
        self._by_session: dict[str, dict[str, BackgroundCommand]] = {}

    def add(self, session_id: str, command: str, process: SandboxProcess) -> BackgroundCommand:
        command_id = f"cmd_{uuid.uuid4().hex[:16]}"
        entry = BackgroundCommand(
            id=command_id,
            session_id=session_id,
            command=command,
            process=process,
            log_path=self.root / session_id / f"{command_id}.out",
            cap_bytes=self.cap_bytes,
        )
        self._by_session.setdefault(session_id, {})[command_id] = entry
        entry.start()
        return entry

    def list(self, session_id: str) -> list[BackgroundCommand]:
        return list(self._by_session.get(session_id, {}).values())

    def get(self, session_id: str, command_id: str) -> BackgroundCommand | None:
        return self._by_session.get(session_id, {}).get(command_id)

    def running(self, session_id: str) -> int:
        return sum(1 for c in self.list(session_id) if c.ended_at is None)

    async def drop_session(self, session_id: str) -> None:
        """The session ended: stop pumping and delete the kept output."""
        for entry in self._by_session.pop(session_id, {}).values():
            await entry.close()
        shutil.rmtree(self.root / session_id, ignore_errors=True)

    async def close(self) -> None:
        for session_id in list(self._by_session):
            await self.drop_session(session_id)
