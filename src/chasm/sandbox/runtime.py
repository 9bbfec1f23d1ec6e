"""What the sandbox domains keep for the server's lifetime: the driver, the storage, leases,
background commands, terminals. One per app, on `app.state.sandbox`, built by `build_runtime`."""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from chasm.config import Settings
from chasm.kit.errors import ChasmError
from chasm.kit.node import node_id
from chasm.sandbox.admission import Admission
from chasm.sandbox.browsers import BrowserPool, BrowserRegistry
from chasm.sandbox.commands import CommandRegistry
from chasm.sandbox.drivers.base import SandboxDriver
from chasm.sandbox.leases import LeaseRegistry
from chasm.sandbox.pool import WarmPool
from chasm.sandbox.storage.base import WorkspaceStorage
from chasm.sandbox.storage.disk import DiskStorage
from chasm.sandbox.terminals import TerminalRegistry

log = logging.getLogger("chasm.sessions")
CLOSE_PART_S = 20.0


@dataclass
class SandboxRuntime:
    settings: Settings
    driver: SandboxDriver
    storage: WorkspaceStorage
    leases: LeaseRegistry
    commands: CommandRegistry
    terminals: TerminalRegistry
    pool: WarmPool
    browsers: BrowserRegistry
    browser_pool: BrowserPool
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
        """Stop the pools and watchers. Each part gets CLOSE_PART_S: a part that does not finish
        is logged with the stacks of the tasks still running and left behind, so a shutdown
        never hangs (the lifespan's `shutdown` then kills every sandbox of this node)."""
        for name, part in (
            ("warm pool", self.pool.close),
            ("browser pool", self.browser_pool.close),
            ("terminals", self.terminals.close),
            ("background commands", self.commands.close),
        ):
            task = asyncio.create_task(part(), name=f"close-{name}")
            done, _ = await asyncio.wait({task}, timeout=CLOSE_PART_S)
            if not done:
                log.error("closing the %s took over %ss; left behind:\n%s", name, CLOSE_PART_S, _stacks())
                continue
            if task.exception() is not None:
                log.error("closing the %s failed", name, exc_info=task.exception())


def _stacks() -> str:
    """The stacks of this loop's pending tasks (what a stuck close waits on)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if not task.done():
            task.print_stack(limit=12, file=out)
    return out.getvalue()


def make_driver(settings: Settings) -> SandboxDriver:
    """`bubblewrap` (the default), or `package.module:Class` for a driver shipped elsewhere
    (a microVM or Kubernetes driver): any class taking the settings and implementing SandboxDriver."""
    name = settings.sandbox_driver
    if name == "bubblewrap":
        from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver

        return BubblewrapDriver(settings)
    driver: SandboxDriver = _load(name, settings, "sandbox driver")
    return driver


def _load(name: str, settings: Settings, what: str) -> Any:
    module_name, sep, class_name = name.partition(":")
    if not sep:
        raise ChasmError(f"unknown {what} '{name}'", code="unknown_backend")
    return getattr(importlib.import_module(module_name), class_name)(settings)


def build_runtime(settings: Settings) -> SandboxRuntime:
    """The driver chosen by the settings, the workspace disks, and empty in-process state."""
    driver = make_driver(settings)
    browsers = BrowserRegistry(settings, driver)
    return SandboxRuntime(
        settings=settings,
        driver=driver,
        storage=DiskStorage(settings),
        leases=LeaseRegistry(),
        commands=CommandRegistry(
            settings.data_dir / "sandboxes" / "commands",
            settings.command_output_max_bytes,
            settings.session_command_output_max_bytes,
            settings.session_max_background_commands,
        ),
        terminals=TerminalRegistry(),
        pool=WarmPool(settings, driver),
        node_id=node_id(settings.data_dir),
        browsers=browsers,
        browser_pool=BrowserPool(settings, driver, browsers),
    )


def runtime_of(app: FastAPI) -> SandboxRuntime:
    runtime: SandboxRuntime = app.state.sandbox
    return runtime


async def get_runtime(conn: HTTPConnection) -> SandboxRuntime:
    """Dependency: works for HTTP requests and WebSockets alike."""
    return runtime_of(conn.app)
