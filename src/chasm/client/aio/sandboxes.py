"""`client.sandboxes`, `client.browsers` and `client.sessions` of the async client."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from chasm.client._base import AsyncTransport
from chasm.client.aio.commands import AsyncCommands, AsyncFiles
from chasm.client.aio.pty import AsyncPty
from chasm.client.errors import NotFound
from chasm.client.models import BulkTerminateResult, SelfTest, SessionInfo
from chasm.client.pages import PAGE, Page, awalk, page_of
from chasm.client.sandboxes import Network, create_body, list_params


class AsyncSessions:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def list(
        self,
        *,
        status: str | None = None,
        workspace: str | None = None,
        session_type: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[SessionInfo]:
        params = list_params(
            status=status, workspace=workspace, session_type=session_type, limit=limit, offset=offset
        )
        data = await self._t.request("GET", "/v1/sessions", params=params)
        return page_of(data, SessionInfo.from_dict, limit=limit, offset=offset)

    def iter(
        self, *, status: str | None = None, workspace: str | None = None, session_type: str | None = None
    ) -> AsyncIterator[SessionInfo]:
        return awalk(
            lambda offset: self.list(
                status=status, workspace=workspace, session_type=session_type, limit=PAGE, offset=offset
            )
        )

    async def get(self, session_id: str) -> SessionInfo:
        return SessionInfo.from_dict(await self._t.request("GET", f"/v1/sessions/{session_id}"))

    async def create(self, session_type: str = "sandbox", **options: Any) -> SessionInfo:
        payload = create_body(
            session_type,
            options.get("workspace"),
            options.get("ephemeral"),
            options.get("image"),
            options.get("env"),
            options.get("network"),
            options.get("github_repo"),
        )
        return SessionInfo.from_dict(await self._t.request("POST", "/v1/sessions", json=payload))

    async def terminate(self, session_id: str, *, force: bool = False) -> SessionInfo:
        data = await self._t.request("DELETE", f"/v1/sessions/{session_id}", params={"force": force})
        return SessionInfo.from_dict(data)

    async def bulk_terminate(
        self, session_ids: builtins.list[str] | None = None, *, all: bool = False, force: bool = False
    ) -> BulkTerminateResult:
        payload = {"session_ids": session_ids, "all": all, "force": force}
        data = await self._t.request("POST", "/v1/sessions/bulk-terminate", json=payload)
        return BulkTerminateResult.from_dict(data)


class AsyncSandbox:
    """A sandbox session: `commands`, `files`, `pty`; `await terminate()` ends it (so does leaving
    an `async with` block)."""

    def __init__(self, transport: AsyncTransport, info: SessionInfo) -> None:
        self._t = transport
        self.info = info
        self.id = info.id
        self.commands = AsyncCommands(transport, info.id)
        self.files = AsyncFiles(transport, info.id, self.commands)
        self.pty = AsyncPty(transport, info.id)

    def __repr__(self) -> str:
        return f"AsyncSandbox(id={self.id!r}, status={self.info.status!r})"

    @property
    def status(self) -> str:
        return self.info.status

    async def refresh(self) -> SessionInfo:
        self.info = SessionInfo.from_dict(await self._t.request("GET", f"/v1/sessions/{self.id}"))
        return self.info

    async def terminate(self, *, force: bool = False) -> SessionInfo:
        data = await self._t.request("DELETE", f"/v1/sessions/{self.id}", params={"force": force})
        self.info = SessionInfo.from_dict(data)
        return self.info

    async def resize(self, cols: int, rows: int) -> int:
        payload = {"cols": cols, "rows": rows}
        return int(
            (await self._t.request("POST", f"/v1/sessions/{self.id}/resize", json=payload))["terminals"]
        )

    async def self_test(self) -> SelfTest:
        return SelfTest.from_dict(await self._t.request("POST", f"/v1/sessions/{self.id}/self-test"))

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            await self.terminate(force=True)


class AsyncSandboxes:
    def __init__(self, transport: AsyncTransport, sessions: AsyncSessions) -> None:
        self._t = transport
        self._sessions = sessions

    async def create(
        self,
        workspace: str | None = None,
        *,
        image: str | None = None,
        network: Network = None,
        ephemeral: bool | None = None,
        env: dict[str, str] | None = None,
        github_repo: str | None = None,
    ) -> AsyncSandbox:
        """As `Sandboxes.create`."""
        info = await self._sessions.create(
            "sandbox",
            workspace=workspace,
            image=image,
            network=network,
            ephemeral=ephemeral,
            env=env,
            github_repo=github_repo,
        )
        return AsyncSandbox(self._t, info)

    async def get(self, session_id: str) -> AsyncSandbox:
        return AsyncSandbox(self._t, await self._sessions.get(session_id))

    async def list(
        self,
        *,
        status: str | None = None,
        workspace: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[AsyncSandbox]:
        page = await self._sessions.list(
            status=status, workspace=workspace, session_type="sandbox", limit=limit, offset=offset
        )
        sandboxes = [AsyncSandbox(self._t, info) for info in page]
        return Page(sandboxes, page.total, page.limit, page.offset, page.raw)

    async def iter(
        self, *, status: str | None = None, workspace: str | None = None
    ) -> AsyncIterator[AsyncSandbox]:
        async for info in self._sessions.iter(status=status, workspace=workspace, session_type="sandbox"):
            yield AsyncSandbox(self._t, info)


class AsyncBrowser:
    def __init__(self, transport: AsyncTransport, info: SessionInfo) -> None:
        self._t = transport
        self.info = info
        self.id = info.id

    @property
    def cdp_url(self) -> str | None:
        return self.info.endpoints.cdp_url if self.info.endpoints else None

    async def screenshot(self, *, full_page: bool = False) -> bytes:
        path = f"/v1/sessions/{self.id}/screenshot"
        return await self._t.content("GET", path, params={"full_page": full_page})

    async def terminate(self, *, force: bool = False) -> SessionInfo:
        data = await self._t.request("DELETE", f"/v1/sessions/{self.id}", params={"force": force})
        self.info = SessionInfo.from_dict(data)
        return self.info


class AsyncBrowsers:
    def __init__(self, transport: AsyncTransport, sessions: AsyncSessions) -> None:
        self._t = transport
        self._sessions = sessions

    async def create(self, workspace: str | None = None, *, network: Network = None) -> AsyncBrowser:
        info = await self._sessions.create("browser", workspace=workspace, network=network)
        return AsyncBrowser(self._t, info)

    async def get(self, session_id: str) -> AsyncBrowser:
        return AsyncBrowser(self._t, await self._sessions.get(session_id))
