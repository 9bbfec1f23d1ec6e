"""`client.sandboxes` (sandbox sessions as `Sandbox` handles), `client.browsers` (browser
sessions) and `client.sessions` (both kinds, as the server lists them)."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator
from typing import Any

from chasm.client._base import SyncTransport, body
from chasm.client.commands import Commands
from chasm.client.errors import NotFound
from chasm.client.files import Files
from chasm.client.models import BulkTerminateResult, SelfTest, SessionInfo
from chasm.client.pages import PAGE, Page, page_of, walk
from chasm.client.pty import Pty

Network = str | dict[str, Any] | None


def network_body(network: Network) -> dict[str, Any] | None:
    """`"direct"` or `{"mode": "proxy", "proxy": {...}}`; "none" (the server's default) is left out."""
    if network is None or network == "none":
        return None
    return {"mode": network} if isinstance(network, str) else network


def create_body(
    session_type: str,
    workspace: str | None,
    ephemeral: bool | None,
    image: str | None,
    env: dict[str, str] | None,
    network: Network,
    github_repo: str | None,
) -> dict[str, Any]:
    if ephemeral is None:
        ephemeral = workspace is None
    return body(
        session_type=session_type,
        workspace=workspace,
        ephemeral=ephemeral,
        image=image,
        env=env,
        network=network_body(network),
        github_repo=github_repo,
    )


def list_params(**filters: Any) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}


class Sessions:
    """Every session of the account, sandbox or browser."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def list(
        self,
        *,
        status: str | None = None,
        workspace: str | None = None,
        session_type: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[SessionInfo]:
        """A page of sessions, newest first."""
        params = list_params(
            status=status, workspace=workspace, session_type=session_type, limit=limit, offset=offset
        )
        data = self._t.request("GET", "/v1/sessions", params=params)
        return page_of(data, SessionInfo.from_dict, limit=limit, offset=offset)

    def iter(
        self, *, status: str | None = None, workspace: str | None = None, session_type: str | None = None
    ) -> Iterator[SessionInfo]:
        """Every session matching the filters, page after page."""
        return walk(
            lambda offset: self.list(
                status=status, workspace=workspace, session_type=session_type, limit=PAGE, offset=offset
            )
        )

    def get(self, session_id: str) -> SessionInfo:
        return SessionInfo.from_dict(self._t.request("GET", f"/v1/sessions/{session_id}"))

    def create(self, session_type: str = "sandbox", **options: Any) -> SessionInfo:
        payload = create_body(
            session_type,
            options.get("workspace"),
            options.get("ephemeral"),
            options.get("image"),
            options.get("env"),
            options.get("network"),
            options.get("github_repo"),
        )
        return SessionInfo.from_dict(self._t.request("POST", "/v1/sessions", json=payload))

    def terminate(self, session_id: str, *, force: bool = False) -> SessionInfo:
        """End a session (Conflict while it has open connections, unless `force`)."""
        data = self._t.request("DELETE", f"/v1/sessions/{session_id}", params={"force": force})
        return SessionInfo.from_dict(data)

    def bulk_terminate(
        self, session_ids: builtins.list[str] | None = None, *, all: bool = False, force: bool = False
    ) -> BulkTerminateResult:
        payload = {"session_ids": session_ids, "all": all, "force": force}
        return BulkTerminateResult.from_dict(
            self._t.request("POST", "/v1/sessions/bulk-terminate", json=payload)
        )


class Sandbox:
    """A sandbox session: `commands`, `files`, `pty`; `terminate()` ends it (so does leaving a
    `with` block)."""

    def __init__(self, transport: SyncTransport, info: SessionInfo) -> None:
        self._t = transport
        self.info = info
        self.id = info.id
        self.commands = Commands(transport, info.id)
        self.files = Files(transport, info.id, self.commands)
        self.pty = Pty(transport, info.id)

    def __repr__(self) -> str:
        return f"Sandbox(id={self.id!r}, status={self.info.status!r})"

    @property
    def status(self) -> str:
        return self.info.status

    def refresh(self) -> SessionInfo:
        self.info = SessionInfo.from_dict(self._t.request("GET", f"/v1/sessions/{self.id}"))
        return self.info

    def terminate(self, *, force: bool = False) -> SessionInfo:
        data = self._t.request("DELETE", f"/v1/sessions/{self.id}", params={"force": force})
        self.info = SessionInfo.from_dict(data)
        return self.info

    def resize(self, cols: int, rows: int) -> int:
        """Resize the open terminals; the number resized."""
        data = self._t.request("POST", f"/v1/sessions/{self.id}/resize", json={"cols": cols, "rows": rows})
        return int(data["terminals"])

    def self_test(self) -> SelfTest:
        return SelfTest.from_dict(self._t.request("POST", f"/v1/sessions/{self.id}/self-test"))

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotFound):
            self.terminate(force=True)


class Sandboxes:
    def __init__(self, transport: SyncTransport, sessions: Sessions) -> None:
        self._t = transport
        self._sessions = sessions

    def create(
        self,
        workspace: str | None = None,
        *,
        image: str | None = None,
        network: Network = None,
        ephemeral: bool | None = None,
        env: dict[str, str] | None = None,
        github_repo: str | None = None,
    ) -> Sandbox:
        """Start a sandbox: ephemeral without `workspace`; with one, that workspace's live session
        is reused when it has one. `network`: "none" (default), "direct", or a proxy object."""
        info = self._sessions.create(
            "sandbox",
            workspace=workspace,
            image=image,
            network=network,
            ephemeral=ephemeral,
            env=env,
            github_repo=github_repo,
        )
        return Sandbox(self._t, info)

    def get(self, session_id: str) -> Sandbox:
        return Sandbox(self._t, self._sessions.get(session_id))

    def list(
        self,
        *,
        status: str | None = None,
        workspace: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Sandbox]:
        page = self._sessions.list(
            status=status, workspace=workspace, session_type="sandbox", limit=limit, offset=offset
        )
        return Page([Sandbox(self._t, info) for info in page], page.total, page.limit, page.offset, page.raw)

    def iter(self, *, status: str | None = None, workspace: str | None = None) -> Iterator[Sandbox]:
        for info in self._sessions.iter(status=status, workspace=workspace, session_type="sandbox"):
            yield Sandbox(self._t, info)


class Browser:
    """A browser session: `cdp_url` for `chromium.connect_over_cdp`, `screenshot()`."""

    def __init__(self, transport: SyncTransport, info: SessionInfo) -> None:
        self._t = transport
        self.info = info
        self.id = info.id

    @property
    def cdp_url(self) -> str | None:
        return self.info.endpoints.cdp_url if self.info.endpoints else None

    def screenshot(self, *, full_page: bool = False) -> bytes:
        """A PNG of the page."""
        return self._t.content("GET", f"/v1/sessions/{self.id}/screenshot", params={"full_page": full_page})

    def terminate(self, *, force: bool = False) -> SessionInfo:
        data = self._t.request("DELETE", f"/v1/sessions/{self.id}", params={"force": force})
        self.info = SessionInfo.from_dict(data)
        return self.info


class Browsers:
    def __init__(self, transport: SyncTransport, sessions: Sessions) -> None:
        self._t = transport
        self._sessions = sessions

    def create(self, workspace: str | None = None, *, network: Network = None) -> Browser:
        """Start a headless Chromium (its profile kept on `workspace` when given)."""
        return Browser(self._t, self._sessions.create("browser", workspace=workspace, network=network))

    def get(self, session_id: str) -> Browser:
        return Browser(self._t, self._sessions.get(session_id))
