"""`AsyncChasm`: the asyncio client, the same calls as `Chasm` awaited (iterators are async)."""

from __future__ import annotations

import httpx

from chasm.client._base import DEFAULT_TIMEOUT, AsyncTransport
from chasm.client.aio.chats import AsyncChats
from chasm.client.aio.commands import AsyncCommandHandle, AsyncCommands, AsyncFiles
from chasm.client.aio.pty import AsyncPty, AsyncTerminal
from chasm.client.aio.resources import AsyncBilling, AsyncJobs, AsyncKeys, AsyncWebhooks, AsyncWorkspaces
from chasm.client.aio.sandboxes import (
    AsyncBrowser,
    AsyncBrowsers,
    AsyncSandbox,
    AsyncSandboxes,
    AsyncSessions,
)
from chasm.client.commands import result_of
from chasm.client.models import CommandResult
from chasm.client.sandboxes import Network
from chasm.client.sync import auto_exec_body

__all__ = [
    "AsyncBrowser",
    "AsyncChasm",
    "AsyncCommandHandle",
    "AsyncCommands",
    "AsyncFiles",
    "AsyncPty",
    "AsyncSandbox",
    "AsyncTerminal",
]


class AsyncChasm:
    """A client of one Chasm server for asyncio code: `async with AsyncChasm(...) as client:`.
    Arguments and environment variables as for `Chasm`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        account: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._t = AsyncTransport(base_url, api_key, account, timeout, transport)
        self.base_url = self._t.base_url
        self.sessions = AsyncSessions(self._t)
        self.sandboxes = AsyncSandboxes(self._t, self.sessions)
        self.browsers = AsyncBrowsers(self._t, self.sessions)
        self.workspaces = AsyncWorkspaces(self._t)
        self.jobs = AsyncJobs(self._t)
        self.keys = AsyncKeys(self._t)
        self.webhooks = AsyncWebhooks(self._t)
        self.billing = AsyncBilling(self._t)
        self.chats = AsyncChats(self._t)

    async def run(
        self,
        command: str,
        *,
        workspace: str | None = None,
        ephemeral: bool | None = None,
        image: str | None = None,
        network: Network = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """As `Chasm.run`: one command in a workspace's session or a new ephemeral sandbox."""
        options = {"cwd": cwd, "env": env, "timeout": timeout}
        payload = auto_exec_body(command, workspace, ephemeral, image, network, options)
        return result_of(await self._t.request("POST", "/v1/exec", json=payload))

    async def close(self) -> None:
        await self._t.close()

    async def __aenter__(self) -> AsyncChasm:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
