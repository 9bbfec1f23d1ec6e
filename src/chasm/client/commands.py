"""`sandbox.commands`: foreground commands, and background ones whose output streams as
Server-Sent Events (resumed from the last byte offset if the connection drops), with stdin and
signals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import httpx

from chasm.client._base import EventDecoder, SyncTransport, body, check
from chasm.client.errors import StreamError
from chasm.client.models import CommandInfo, CommandResult, OutputChunk
from chasm.client.pages import PAGE, Page, page_of, walk

RECONNECTS = 5  # consecutive failed reconnections before a stream gives up


def exec_body(
    command: str,
    *,
    cwd: str | None,
    env: dict[str, str] | None,
    timeout: float | None,
    background: bool,
    **extra: Any,
) -> dict[str, Any]:
    timeout_ms = max(1, round(timeout * 1000)) if timeout is not None else None
    return body(command=command, cwd=cwd, env=env, timeout_ms=timeout_ms, background=background, **extra)


def result_of(data: dict[str, Any]) -> CommandResult:
    result = CommandResult.from_dict(data)
    result.output = data.get("output") or ""
    result.output_truncated = bool(data.get("output_truncated"))
    result.timed_out = bool(data.get("timed_out"))
    result.status = "timed_out" if result.timed_out else "exited"
    return result


@dataclass
class Collector:
    """Gathers a stream's chunks into a `CommandResult`, calling the callbacks on the way."""

    on_stdout: Callable[[str], object] | None = None
    on_stderr: Callable[[str], object] | None = None
    parts: dict[str, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": [], "output": []})
    exit: OutputChunk | None = None

    def add(self, chunk: OutputChunk) -> None:
        if chunk.is_exit:
            self.exit = chunk
            return
        self.parts.setdefault(chunk.stream, []).append(chunk.data)
        self.parts["output"].append(chunk.data)
        callback = self.on_stdout if chunk.stream == "stdout" else self.on_stderr
        if callback is not None:
            callback(chunk.data)

    def result(self, session_id: str) -> CommandResult:
        exit_ = self.exit or OutputChunk("exit", "", 0, 0)
        return CommandResult(
            exit_code=exit_.exit_code,
            output="".join(self.parts["output"]),
            stdout="".join(self.parts["stdout"]),
            stderr="".join(self.parts["stderr"]),
            output_truncated=exit_.output_truncated,
            status=exit_.status or "exited",
            session_id=session_id,
        )


def split_lines(chunks: Iterator[OutputChunk]) -> Iterator[tuple[str, str]]:
    """(stream, line) pairs, each line without its newline; a last line without one is given at
    the end of its stream."""
    pending: dict[str, str] = {}
    for chunk in chunks:
        if chunk.is_exit:
            break
        text = pending.pop(chunk.stream, "") + chunk.data
        *lines, rest = text.split("\n")
        for line in lines:
            yield chunk.stream, line
        if rest:
            pending[chunk.stream] = rest
    for stream, rest in pending.items():
        yield stream, rest


class CommandHandle:
    """A background command: iterate it for its output chunks (stdout, stderr, then exit), or
    `wait()` for the result; `send_stdin`, `close_stdin` and `kill` act on the process."""

    def __init__(self, transport: SyncTransport, session_id: str, command_id: str, pid: int | None) -> None:
        self._t = transport
        self.session_id = session_id
        self.id = command_id
        self.pid = pid
        self._path = f"/v1/sessions/{session_id}/commands/{command_id}"

    def __repr__(self) -> str:
        return f"CommandHandle(id={self.id!r}, pid={self.pid!r}, session_id={self.session_id!r})"

    def __iter__(self) -> Iterator[OutputChunk]:
        return self.stream()

    def stream(self, offset: int = 0) -> Iterator[OutputChunk]:
        """Output from byte `offset` on, ending with the exit chunk; a dropped connection is
        resumed where it stopped."""
        failures = 0
        while True:
            try:
                with self._t.http.stream(
                    "GET", f"{self._path}/stream", headers={"Last-Event-ID": str(offset)}, timeout=None
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        check(response)
                    decoder = EventDecoder()
                    for line in response.iter_lines():
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
                time.sleep(min(0.2 * failures, 1.0))

    def lines(self) -> Iterator[tuple[str, str]]:
        """(stream, line) pairs of the output, stream being stdout or stderr."""
        return split_lines(self.stream())

    def wait(
        self,
        on_stdout: Callable[[str], object] | None = None,
        on_stderr: Callable[[str], object] | None = None,
    ) -> CommandResult:
        """Read the output to the end: the result has stdout and stderr apart."""
        collector = Collector(on_stdout, on_stderr)
        for chunk in self.stream():
            collector.add(chunk)
        return collector.result(self.session_id)

    def info(self) -> CommandInfo:
        return CommandInfo.from_dict(self._t.request("GET", self._path))

    def send_stdin(self, data: str, *, eof: bool = False) -> CommandInfo:
        return CommandInfo.from_dict(
            self._t.request("POST", f"{self._path}/stdin", json={"data": data, "eof": eof})
        )

    def close_stdin(self) -> CommandInfo:
        return self.send_stdin("", eof=True)

    def kill(self, signal: str | int = "TERM") -> CommandInfo:
        """Send a signal (TERM by default; KILL, INT, HUP..., or a number)."""
        return CommandInfo.from_dict(self._t.request("POST", f"{self._path}/kill", json={"signal": signal}))


class Commands:
    def __init__(self, transport: SyncTransport, session_id: str) -> None:
        self._t = transport
        self.session_id = session_id
        self._base = f"/v1/sessions/{session_id}"

    @overload
    def run(
        self,
        command: str,
        *,
        background: Literal[False] = False,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult: ...

    @overload
    def run(
        self,
        command: str,
        *,
        background: Literal[True],
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandHandle: ...

    def run(
        self,
        command: str,
        *,
        background: bool = False,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult | CommandHandle:
        """Run `command` with /bin/sh -c. In the foreground (the default) wait for it: the result
        has the exit code and the output (stdout and stderr interleaved); `timeout` in seconds.
        With `background=True` return at once a handle streaming its output."""
        payload = exec_body(command, cwd=cwd, env=env, timeout=timeout, background=background)
        data = self._t.request("POST", f"{self._base}/exec", json=payload)
        if background:
            return CommandHandle(self._t, self.session_id, data["command_id"], data.get("pid"))
        return result_of(data)

    def list(self) -> list[CommandInfo]:
        """The session's background commands, oldest first (every page)."""
        return [*walk(self._page)]

    def _page(self, offset: int) -> Page[CommandInfo]:
        params = {"limit": PAGE, "offset": offset}
        data = self._t.request("GET", f"{self._base}/commands", params=params)
        return page_of(data, CommandInfo.from_dict, limit=PAGE, offset=offset)

    def get(self, command_id: str) -> CommandInfo:
        return CommandInfo.from_dict(self._t.request("GET", f"{self._base}/commands/{command_id}"))

    def connect(self, command_id: str) -> CommandHandle:
        """A handle on a background command started earlier (by this or another client)."""
        info = self.get(command_id)
        return CommandHandle(self._t, self.session_id, info.id, info.pid)
