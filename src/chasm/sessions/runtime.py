"""What the sandbox domains keep for the server's lifetime: the driver, the storage, leases,
background commands, terminals. One per app, on `app.state.sandbox`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from chasm.config import Settings
from chasm.exec.commands import CommandRegistry
from chasm.sessions.admission import Admission
from chasm.sessions.drivers.base import SandboxDriver
from chasm.sessions.leases import LeaseRegistry
from chasm.sessions.pool import WarmPool
from chasm.sessions.terminals import TerminalRegistry
from chasm.workspaces.storage_base import WorkspaceStorage


@dataclass
class SandboxRuntime:
    settings: Settings
    driver: SandboxDriver
    storage: WorkspaceStorage
    leases: LeaseRegistry
    commands: CommandRegistry
    terminals: TerminalRegistry
    pool: WarmPool
    node_id: str = ""  # kit/node.py: recorded on each session this runtime starts
    admission: Admission = field(default_factory=Admission)  # quota locks and uncommitted starts
    # Serialises "reuse or start" per workspace so two creates never start two machines.
    workspace_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def workspace_lock(self, workspace_id: str) -> asyncio.Lock:
        return self.workspace_locks.setdefault(workspace_id, asyncio.Lock())

    async def release(self, session_id: str) -> None:
        """Forget everything this process holds for an ended session."""
        await self.terminals.drop_session(session_id)
        await self.commands.drop_session(session_id)
        self.leases.forget(session_id)

    async def close(self) -> None:
        await self.pool.close()
        await self.terminals.close()
        await self.commands.close()


def runtime_of(app: FastAPI) -> SandboxRuntime:
    runtime: SandboxRuntime = app.state.sandbox
    return runtime


async def get_runtime(conn: HTTPConnection) -> SandboxRuntime:
    """Dependency: works for HTTP requests and WebSockets alike."""
    return runtime_of(conn.app)
