"""PTY terminals shared by several WebSocket clients: all see the output, input from any.

`human` and `agent` terminals are shared per session (a second client joins the running one and
first receives its recent scrollback); an `exec` terminal belongs to one connection. A terminal
ends when its shell exits or when its last client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from chasm.sandbox.drivers.base import SandboxDriver, SandboxProcess

SCROLLBACK_BYTES = 64 * 1024

# Human: a login shell on a full terminal. Agent: a plain `$ ` prompt, no line editing, no
# rc files and no echo, so that what an agent reads back is only what the commands printed.
SHELLS = {
    "human": "export TERM=xterm-256color; exec bash -l",
    "agent": "stty -echo; export TERM=dumb PS1='$ ' PS2='' PROMPT_COMMAND=''; "
    "exec bash --norc --noprofile --noediting -i",
}


@dataclass
class Terminal:
    key: str
    process: SandboxProcess
    cols: int
    rows: int
    scrollback: bytearray = field(default_factory=bytearray)
    clients: set[asyncio.Queue[bytes | None]] = field(default_factory=set)
    exit_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name=f"pty-{self.key}")

    async def _pump(self) -> None:
        try:
            async for chunk in self.process.output():
                self.scrollback.extend(chunk.data)
                del self.scrollback[:-SCROLLBACK_BYTES]
                for queue in self.clients:
                    queue.put_nowait(chunk.data)
            self.exit_code = await self.process.wait()
        except Exception:  # the sandbox went away under the terminal
            self.exit_code = -9
        finally:
            self.done.set()
            for queue in self.clients:
                queue.put_nowait(None)

    def join(self) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        if self.scrollback:
            queue.put_nowait(bytes(self.scrollback))
        if self.done.is_set():
            queue.put_nowait(None)
        self.clients.add(queue)
        return queue

    async def resize(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        if not self.done.is_set():
            await self.process.resize(cols, rows)

    async def close(self) -> None:
        if not self.done.is_set():
            with contextlib.suppress(Exception):
                await self.process.signal(1)  # SIGHUP, as a closing terminal sends
            try:
                await asyncio.wait_for(self.done.wait(), 2)
            except TimeoutError:
                with contextlib.suppress(Exception):
                    await self.process.signal(9)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class TerminalRegistry:
    def __init__(self) -> None:
        self._terminals: dict[str, dict[str, Terminal]] = {}
        self._lock = asyncio.Lock()

    async def attach(
        self,
        driver: SandboxDriver,
        session_id: str,
        mode: str,
        command: str | None,
        cols: int,
        rows: int,
        connection: int,
    ) -> Terminal:
        shared = mode in SHELLS
        key = mode if shared else f"exec-{connection}"
        async with self._lock:
            terminals = self._terminals.setdefault(session_id, {})
            terminal = terminals.get(key)
            if terminal is None or terminal.done.is_set():
                shell = SHELLS[mode] if shared else (command or "")
                process = await driver.spawn(session_id, shell, cwd="/workspace", pty=(cols, rows))
                terminal = Terminal(key, process, cols, rows)
                terminal.start()
                terminals[key] = terminal
            return terminal

    async def detach(self, session_id: str, terminal: Terminal, queue: asyncio.Queue[bytes | None]) -> None:
        terminal.clients.discard(queue)
        if terminal.clients:
            return
        async with self._lock:
            terminals = self._terminals.get(session_id, {})
            if terminals.get(terminal.key) is terminal and not terminal.clients:
                del terminals[terminal.key]
        await terminal.close()

    def of_session(self, session_id: str) -> list[Terminal]:
        return list(self._terminals.get(session_id, {}).values())

    async def drop_session(self, session_id: str) -> None:
        for terminal in self._terminals.pop(session_id, {}).values():
            for queue in terminal.clients:
                queue.put_nowait(None)
            await terminal.close()

    async def close(self) -> None:
        for session_id in list(self._terminals):
            await self.drop_session(session_id)
