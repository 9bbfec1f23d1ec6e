"""Background commands: their output is kept on disk and addressed by byte offset.

A command's stdout and stderr go, through the sandbox agent, to a log file of frames (see
`drivers/cmdlog.py`) that the server opened on the host and handed over: the agent writes
it, so output keeps arriving while no server runs, and the agent appends the exit status itself.
Beside the log, `<id>.json` records the command (argv, pid, start, kill request). Both live in
`<data_dir>/sandboxes/commands/<session id>/`, a root-owned directory no sandbox can see. A
restarted server reads them back for every session it re-adopts, re-attaches to the commands still
running, and streams and resumes their output as before the restart.

Offsets count output bytes only (frame headers excluded); every chunk is indexed by (start offset,
stream). A stream reader asks for everything after an offset, so a client that reconnects with the
last offset it saw gets the rest without loss or duplication. Chunks always end on a UTF-8
character boundary so each one decodes on its own.

Caps: a command writes at most `command_output_max_bytes`; a session keeps at most
`session_command_output_max_bytes` of output on disk: each new command reserves its cap from it
(a finished command holds only what it wrote), the output of the session's oldest finished
commands is dropped (they leave the list) to make room, and when the running ones hold it all the
command is refused (429 `command_output_limit`). At most `session_max_background_commands` run at
once (429 `too_many_commands`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chasm.kit.errors import ChasmError
from chasm.kit.timeutil import utcnow
from chasm.sandbox.drivers import cmdlog
from chasm.sandbox.drivers.base import LoggedProcess, SandboxDriver

log = logging.getLogger("chasm.sandbox")

POLL_S = 0.5  # a follower looks at the log this often even without a notification
MIN_GRANT_BYTES = 64 * 1024  # a command is refused rather than started with less room than this


class TooManyCommands(ChasmError):
    status_code = 429
    code = "too_many_commands"


class CommandOutputLimit(ChasmError):
    status_code = 429
    code = "command_output_limit"


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
    pid: int
    log_path: Path
    cap_bytes: int
    process: LoggedProcess | None = None
    started_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None
    exit_code: int | None = None
    killed: bool = False
    output_truncated: bool = False
    stdin_open: bool = False
    # A command started with `report_to` (the id of the account to tell) reports its exit
    # (`CommandRegistry.on_exit`) once: `exit_reported` is kept on disk after the report, so a
    # restarted server reports only the exits not reported yet.
    report_to: str | None = None
    exit_reported: bool = False
    _exited: Callable[[BackgroundCommand], None] | None = None
    _starts: list[int] = field(default_factory=list)
    _streams: list[str] = field(default_factory=list)
    _positions: list[int] = field(default_factory=list)  # file offset of each chunk's data
    _size: int = 0
    _scanned: int = 0  # file offset just past the last whole frame read
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def status(self) -> str:
        if self.ended_at is None:
            return "running"
        return "killed" if self.killed else "exited"

    @property
    def size(self) -> int:
        return self._size

    @property
    def meta_path(self) -> Path:
        return self.log_path.with_suffix(".json")

    @property
    def disk_bytes(self) -> int:
        """What this command holds of its session's output budget."""
        return self._size if self.ended_at is not None else self.cap_bytes

    def save(self) -> None:
        record = {
            "id": self.id,
            "command": self.command,
            "pid": self.pid,
            "cap_bytes": self.cap_bytes,
            "started_at": self.started_at.isoformat(),
            "killed": self.killed,
            "report_to": self.report_to,
            "exit_reported": self.exit_reported,
        }
        partial = self.meta_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record))
        partial.replace(self.meta_path)

    def poke(self) -> None:
        """New output or an exit: wake every follower."""
        self._wake.set()
        self._wake = asyncio.Event()

    def refresh(self) -> None:
        """Index the frames appended to the log since the last look."""
        if self.exit_code is not None and self.ended_at is not None:
            return
        base = self._scanned
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(base)
                buffer = fh.read()
        except OSError:
            return
        for kind, position, length in cmdlog.frames(buffer, base):
            self._scanned = position + length
            stream = cmdlog.STREAMS.get(kind)
            if stream is not None and length:
                self._starts.append(self._size)
                self._streams.append(stream)
                self._positions.append(position)
                self._size += length
            elif kind == cmdlog.TRUNCATED:
                self.output_truncated = True
            elif kind == cmdlog.EXIT:
                try:
                    code = os.waitstatus_to_exitcode(int(buffer[position - base : position - base + length]))
                except ValueError:
                    code = -9
                self._end(code)

    def _end(self, code: int) -> None:
        if self.ended_at is None:
            self.exit_code = code
            self.ended_at = utcnow()
            self.stdin_open = False
            self.poke()
            if self._exited is not None and self.report_to and not self.exit_reported:
                self._exited(self)

    @property
    def duration_ms(self) -> float | None:
        if self.ended_at is None:
            return None
        return max((self.ended_at - self.started_at).total_seconds() * 1000, 0.0)

    def watch(self) -> None:
        """Follow the live process: notifications and its exit (which the log also records)."""
        if self.process is not None:
            self.process.on_output = self.poke
            self._task = asyncio.create_task(self._watch(), name=f"command-{self.id}")

    async def _watch(self) -> None:
        assert self.process is not None
        try:
            code = await self.process.wait()
        except Exception:  # the sandbox went away under the command
            code = -9
        self.refresh()
        self._end(code)  # no exit frame: the agent (the whole sandbox) died with the command

    def chunks_from(self, offset: int) -> list[Chunk]:
        """The output after byte `offset` as chunks (the first one sliced if offset falls inside it)."""
        if offset >= self._size:
            return []
        index = max(bisect.bisect_right(self._starts, offset) - 1, 0)
        ends = self._starts[1:] + [self._size]
        chunks = []
        try:
            with self.log_path.open("rb") as fh:
                for i in range(index, len(self._starts)):
                    start, end = max(self._starts[i], offset), ends[i]
                    fh.seek(self._positions[i] + start - self._starts[i])
                    chunks.append(Chunk(start, self._streams[i], fh.read(end - start)))
        except OSError:
            return []  # the session ended and its output went with it
        return chunks

    async def follow(self, offset: int) -> AsyncIterator[Chunk]:
        """Chunks after `offset`, waiting for new output until the command has ended."""
        while True:
            wake = self._wake
            self.refresh()
            chunks = self.chunks_from(offset)
            for chunk in chunks:
                yield chunk
                offset = chunk.end
            if offset < self._size and chunks:
                continue
            if self.ended_at is not None or offset < self._size:  # ended, or its log deleted
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_S)

    async def write_stdin(self, data: bytes) -> None:
        if self.process is not None:
            await self.process.write_stdin(data)

    async def close_stdin(self) -> None:
        self.stdin_open = False
        if self.process is not None:
            await self.process.close_stdin()

    async def kill(self, signum: int) -> None:
        if self.ended_at is None:
            self.killed = True
            self.save()
            if self.process is not None:
                await self.process.signal(signum)

    async def close(self) -> None:
        """Stop watching (the command itself runs on, and its log with it)."""
        if self.process is not None:
            self.process.close()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.poke()


class CommandRegistry:
    """Background commands by session: in memory, and on disk under `root` for restarts."""

    def __init__(
        self, root: Path, cap_bytes: int, session_cap_bytes: int | None = None, max_running: int = 16
    ) -> None:
        self.root = root
        self.cap_bytes = cap_bytes
        self.session_cap_bytes = session_cap_bytes or 4 * cap_bytes
        self.max_running = max_running
        self._by_session: dict[str, dict[str, BackgroundCommand]] = {}
        # Called once a command started with `report_to` has ended (set by the sessions
        # lifespan: it writes the `command.exited` event); a failure is retried at the next load.
        self.on_exit: Callable[[BackgroundCommand], Awaitable[None]] | None = None
        self._reporting: set[asyncio.Task[None]] = set()

    def _exited(self, entry: BackgroundCommand) -> None:
        if self.on_exit is None:
            return
        task = asyncio.get_running_loop().create_task(self._report(entry), name=f"command-exit-{entry.id}")
        self._reporting.add(task)
        task.add_done_callback(self._reporting.discard)

    async def _report(self, entry: BackgroundCommand) -> None:
        assert self.on_exit is not None
        try:
            await self.on_exit(entry)
        except Exception:
            log.exception("command %s: its exit could not be reported", entry.id)
            return
        entry.exit_reported = True
        with contextlib.suppress(OSError):  # its session ended, and its output with it
            entry.save()

    def _dir(self, session_id: str) -> Path:
        path = self.root / session_id
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def _grant(self, session_id: str) -> int:
        """The cap of a new command of the session, dropping the oldest finished output for room."""
        if self.running(session_id) >= self.max_running:
            raise TooManyCommands(
                f"this session already runs {self.max_running} background commands, the limit "
                "(session_max_background_commands); wait for one to end or kill one"
            )
        commands = self._by_session.get(session_id, {})
        held = sum(c.disk_bytes for c in commands.values())
        for entry in sorted(commands.values(), key=lambda c: (c.started_at, c.id)):
            if held + self.cap_bytes <= self.session_cap_bytes:
                break
            if entry.ended_at is not None:
                held -= entry.disk_bytes
                self._forget(entry)
        grant = min(self.cap_bytes, self.session_cap_bytes - held)
        if grant < MIN_GRANT_BYTES:
            raise CommandOutputLimit(
                f"the running background commands of this session hold its whole output budget of "
                f"{self.session_cap_bytes} bytes (session_command_output_max_bytes); wait for one to "
                "end or kill one"
            )
        return grant

    def _forget(self, entry: BackgroundCommand) -> None:
        self._by_session.get(entry.session_id, {}).pop(entry.id, None)
        entry.log_path.unlink(missing_ok=True)
        entry.meta_path.unlink(missing_ok=True)

    async def start(
        self,
        driver: SandboxDriver,
        session_id: str,
        command: str,
        *,
        cwd: str | None,
        env: dict[str, str] | None,
        command_id: str | None = None,
        report_to: str | None = None,
    ) -> BackgroundCommand:
        cap = self._grant(session_id)
        command_id = command_id or f"cmd_{uuid.uuid4().hex[:16]}"
        log_path = self._dir(session_id) / f"{command_id}.log"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(log_path, flags, 0o600)
        entry = BackgroundCommand(
            id=command_id,
            session_id=session_id,
            command=command,
            pid=0,
            log_path=log_path,
            cap_bytes=cap,
            report_to=report_to,
            _exited=self._exited,
        )
        try:
            entry.save()  # recorded before it runs: a crash right after the start still finds it
            process = await driver.spawn_logged(session_id, command, cwd=cwd, env=env, log_fd=fd, cap=cap)
        except BaseException:
            log_path.unlink(missing_ok=True)
            entry.meta_path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        entry.pid, entry.process, entry.stdin_open = process.pid, process, True
        entry.save()
        self._by_session.setdefault(session_id, {})[command_id] = entry
        entry.watch()
        return entry

    async def load(self, driver: SandboxDriver, session_id: str) -> list[BackgroundCommand]:
        """After a restart: the session's commands as recorded, re-attached where still running."""
        found: list[BackgroundCommand] = []
        directory = self.root / session_id
        with contextlib.suppress(OSError):
            for meta in sorted(directory.glob("*.json")):
                try:
                    record = json.loads(meta.read_text())
                    entry = BackgroundCommand(
                        id=str(record["id"]),
                        session_id=session_id,
                        command=str(record["command"]),
                        pid=int(record["pid"]),
                        log_path=directory / f"{record['id']}.log",
                        cap_bytes=int(record["cap_bytes"]),
                        started_at=datetime.fromisoformat(record["started_at"]),
                        killed=bool(record.get("killed")),
                        report_to=str(record["report_to"]) if record.get("report_to") else None,
                        exit_reported=bool(record.get("exit_reported")),
                    )
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                entry.refresh()
                if entry.ended_at is not None:
                    # Ended while no server ran: its end is when the agent wrote the exit frame.
                    with contextlib.suppress(OSError):
                        entry.ended_at = datetime.fromtimestamp(entry.log_path.stat().st_mtime, UTC)
                    entry._exited = self._exited
                    if entry.report_to and not entry.exit_reported:
                        self._exited(entry)  # ended unreported (no server ran, or its report failed)
                else:
                    entry._exited = self._exited
                    entry.process = await driver.attach(session_id, entry.pid)
                    entry.refresh()  # it may have ended in between
                    if entry.process is None and entry.ended_at is None:
                        entry._end(-9)  # neither running nor logged as ended: lost with its sandbox
                    entry.watch()
                self._by_session.setdefault(session_id, {})[entry.id] = entry
                found.append(entry)
        return found

    def remove_strays(self, live: set[str]) -> None:
        """Delete the kept output of sessions that are not live."""
        with contextlib.suppress(OSError):
            for entry in self.root.iterdir():
                if entry.name not in live:
                    shutil.rmtree(entry, ignore_errors=True)

    def find(self, command_id: str) -> BackgroundCommand | None:
        """The command `command_id` of any session (a job looks for the command it started)."""
        for commands in self._by_session.values():
            if command_id in commands:
                return commands[command_id]
        return None

    def list(self, session_id: str) -> list[BackgroundCommand]:
        return sorted(self._by_session.get(session_id, {}).values(), key=lambda c: c.started_at)

    def get(self, session_id: str, command_id: str) -> BackgroundCommand | None:
        return self._by_session.get(session_id, {}).get(command_id)

    def running(self, session_id: str) -> int:
        return sum(1 for c in self.list(session_id) if c.ended_at is None)

    async def drop_session(self, session_id: str) -> None:
        """The session ended: stop watching and delete the kept output."""
        for entry in self._by_session.pop(session_id, {}).values():
            await entry.close()
            if entry.ended_at is None:  # killed with its sandbox: release every follower
                entry.killed = True
                entry._end(-9)
        shutil.rmtree(self.root / session_id, ignore_errors=True)

    async def close(self) -> None:
        """The server stops: stop watching, keep everything on disk (an exit whose report did not
        finish is reported by the next server)."""
        if self._reporting:
            await asyncio.wait(set(self._reporting), timeout=5)
        for commands in self._by_session.values():
            for entry in commands.values():
                await entry.close()
        self._by_session.clear()
