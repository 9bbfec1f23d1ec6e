"""`ChasmClient`: a synchronous Python client of Chasm's platform API (sessions, exec, files,
workspaces) and of transcript upload to the chat library. Errors come back as `ChasmAPIError`
with the server's code and message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import httpx

from chasm.client.errors import ChasmAPIError


@dataclass
class CommandEvent:
    """One Server-Sent Event of a background command: `stdout`, `stderr` or `exit`."""

    event: str
    id: int
    data: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.data.get("data", ""))


class ChasmClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 300.0,
        account: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"}
        if account:
            headers["X-Chaser-Account"] = account
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChasmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        _raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # Chat library

    def upload_transcripts(
        self, files: list[tuple[str, bytes | BinaryIO]], *, source: str | None = None
    ) -> dict[str, Any]:
        """Parse transcript files or archives into the library (POST /api/v1/harvest/upload, which
        answers spec 001's bare HarvestResponse)."""
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/harvest/upload",
            files=[("files", (name, content)) for name, content in files],
            data={"source": source} if source else None,
        )
        return result

    # Sessions

    def create_session(
        self,
        *,
        session_type: str = "sandbox",
        workspace: str | None = None,
        ephemeral: bool | None = None,
        image: str | None = None,
        env: dict[str, str] | None = None,
        network: dict[str, Any] | None = None,
        github_repo: str | None = None,
    ) -> dict[str, Any]:
        """Create a session (with `workspace`, the workspace's live session is reused)."""
        body: dict[str, Any] = {"session_type": session_type}
        if ephemeral is None:
            ephemeral = workspace is None
        body["ephemeral"] = ephemeral
        for key, value in (
            ("workspace", workspace),
            ("image", image),
            ("env", env),
            ("network", network),
            ("github_repo", github_repo),
        ):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self._request("POST", "/v1/sessions", json=body)
        return result

    def _page(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One page of a /v1 list: `{items, total, limit, offset}` (filters and `limit`/`offset`
        given as keyword arguments; None leaves one out)."""
        result: dict[str, Any] = self._request(
            "GET", path, params={k: v for k, v in params.items() if v is not None}
        )
        return result

    def list_sessions(self, **filters: Any) -> dict[str, Any]:
        return self._page("/v1/sessions", filters)

    def get_session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/sessions/{session_id}")
        return result

    def terminate_session(self, session_id: str, *, force: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "DELETE", f"/v1/sessions/{session_id}", params={"force": str(force).lower()}
        )
        return result

    def bulk_terminate(
        self, session_ids: list[str] | None = None, *, all: bool = False, force: bool = False
    ) -> dict[str, Any]:
        body = {"session_ids": session_ids, "all": all, "force": force}
        result: dict[str, Any] = self._request("POST", "/v1/sessions/bulk-terminate", json=body)
        return result

    def resize(self, session_id: str, cols: int, rows: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", f"/v1/sessions/{session_id}/resize", json={"cols": cols, "rows": rows}
        )
        return result

    def self_test(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/v1/sessions/{session_id}/self-test")
        return result

    def pty_url(self, session_id: str, mode: str = "human", command: str | None = None) -> str:
        """The WebSocket URL of the session's terminal (authenticate with the bearer header)."""
        base = "ws" + self.base_url[4:] if self.base_url.startswith("http") else self.base_url
        query = {"mode": mode, **({"command": command} if command else {})}
        return f"{base}/v1/sessions/{session_id}/pty?{urlencode(query)}"

    # Exec

    def exec(
        self,
        session_id: str,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_ms: int | None = None,
        background: bool = False,
    ) -> dict[str, Any]:
        body = _exec_body(command, cwd, env, timeout_ms, background)
        result: dict[str, Any] = self._request("POST", f"/v1/sessions/{session_id}/exec", json=body)
        return result

    def run(
        self,
        command: str,
        *,
        workspace: str | None = None,
        ephemeral: bool | None = None,
        image: str | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_ms: int | None = None,
        background: bool = False,
    ) -> dict[str, Any]:
        """`POST /v1/exec`: run in a workspace's session (started if needed) or a new sandbox."""
        body = _exec_body(command, cwd, env, timeout_ms, background)
        for key, value in (("workspace", workspace), ("ephemeral", ephemeral), ("image", image)):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self._request("POST", "/v1/exec", json=body)
        return result

    def list_commands(self, session_id: str, **paging: Any) -> dict[str, Any]:
        return self._page(f"/v1/sessions/{session_id}/commands", paging)

    def get_command(self, session_id: str, command_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/sessions/{session_id}/commands/{command_id}")
        return result

    def stream_command(self, session_id: str, command_id: str, offset: int = 0) -> Iterator[CommandEvent]:
        """Output events from byte `offset` on, until the `exit` event; reconnects transparently
        (resuming from the last event id) if the connection drops."""
        while True:
            url = f"/v1/sessions/{session_id}/commands/{command_id}/stream"
            try:
                with self._http.stream("GET", url, headers={"Last-Event-ID": str(offset)}) as response:
                    if response.status_code >= 400:
                        response.read()
                        _raise_for(response)
                    for event in _sse_events(response.iter_lines()):
                        offset = event.id
                        yield event
                        if event.event == "exit":
                            return
            except httpx.TransportError:
                continue

    def write_stdin(
        self, session_id: str, command_id: str, data: str = "", *, eof: bool = False
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", f"/v1/sessions/{session_id}/commands/{command_id}/stdin", json={"data": data, "eof": eof}
        )
        return result

    def kill_command(self, session_id: str, command_id: str, signal: str | int = "TERM") -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", f"/v1/sessions/{session_id}/commands/{command_id}/kill", json={"signal": signal}
        )
        return result

    # Files

    def upload(self, session_id: str, path: str, content: bytes | BinaryIO | Path) -> dict[str, Any]:
        if isinstance(content, Path):
            with content.open("rb") as fh:
                return self.upload(session_id, path, fh)
        files = {"file": (Path(path).name or "file", content, "application/octet-stream")}
        result: dict[str, Any] = self._request(
            "POST", f"/v1/sessions/{session_id}/upload", data={"path": path}, files=files
        )
        return result

    def download(self, session_id: str, path: str) -> bytes:
        response = self._http.get(f"/v1/sessions/{session_id}/download", params={"path": path})
        _raise_for(response)
        return response.content

    def screenshot(self, session_id: str, *, full_page: bool = False) -> bytes:
        """A PNG of a browser session's page."""
        params = {"full_page": str(full_page).lower()}
        response = self._http.get(f"/v1/sessions/{session_id}/screenshot", params=params)
        _raise_for(response)
        return response.content

    # Workspaces

    def list_workspaces(self, **filters: Any) -> dict[str, Any]:
        return self._page("/v1/workspaces", filters)

    def create_workspace(
        self,
        name: str | None = None,
        *,
        session_type: str = "sandbox",
        image: str | None = None,
        template: bool = False,
        clone_from: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"session_type": session_type, "template": template}
        for key, value in (("name", name), ("image", image), ("clone_from", clone_from)):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self._request("POST", "/v1/workspaces", json=body)
        return result

    def get_workspace(self, workspace: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/workspaces/{quote(workspace, safe='')}")
        return result

    def delete_workspace(self, workspace: str, *, force: bool = False) -> None:
        self._request(
            "DELETE", f"/v1/workspaces/{quote(workspace, safe='')}", params={"force": str(force).lower()}
        )

    def list_snapshots(self, workspace: str, **paging: Any) -> dict[str, Any]:
        return self._page(f"/v1/workspaces/{quote(workspace, safe='')}/snapshots", paging)

    def create_snapshot(
        self, workspace: str, name: str | None = None, *, force: bool = False
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            f"/v1/workspaces/{quote(workspace, safe='')}/snapshots",
            params={"force": str(force).lower()},
            json={"name": name} if name else None,
        )
        return result

    def restore_snapshot(self, workspace: str, name: str, *, force: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            f"/v1/workspaces/{quote(workspace, safe='')}/snapshots/{quote(name, safe='')}/restore",
            params={"force": str(force).lower()},
        )
        return result

    def delete_snapshot(self, workspace: str, name: str, *, force: bool = False) -> None:
        self._request(
            "DELETE",
            f"/v1/workspaces/{quote(workspace, safe='')}/snapshots/{quote(name, safe='')}",
            params={"force": str(force).lower()},
        )

    def rename_workspace(self, workspace: str, name: str | None) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "PUT", f"/v1/workspaces/{quote(workspace, safe='')}/name", json={"name": name}
        )
        return result

    def set_workspace_template(self, workspace: str, template: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "PUT", f"/v1/workspaces/{quote(workspace, safe='')}/template", json={"template": template}
        )
        return result

    def import_workspace(
        self, repo: str, *, name: str | None = None, ref: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"github_repo": repo}
        if name:
            body["name"] = name
        if ref:
            body["ref"] = ref
        result: dict[str, Any] = self._request("POST", "/v1/workspaces/import", json=body)
        return result

    # Webhooks and billing

    def create_webhook(
        self, url: str, event_types: list[str], description: str | None = None
    ) -> dict[str, Any]:
        body = {"url": url, "event_types": event_types, "description": description}
        result: dict[str, Any] = self._request("POST", "/v1/webhooks", json=body)
        return result

    def list_webhooks(self, **paging: Any) -> dict[str, Any]:
        return self._page("/v1/webhooks", paging)

    def list_deliveries(self, **filters: Any) -> dict[str, Any]:
        return self._page("/v1/webhooks/deliveries", filters)

    def get_delivery(self, delivery_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/webhooks/deliveries/{delivery_id}")
        return result

    def replay_delivery(self, delivery_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/v1/webhooks/deliveries/{delivery_id}/replay")
        return result

    def billing_summary(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/v1/billing/summary")
        return result


def _exec_body(
    command: str, cwd: str | None, env: dict[str, str] | None, timeout_ms: int | None, background: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command, "background": background}
    for key, value in (("cwd", cwd), ("env", env), ("timeout_ms", timeout_ms)):
        if value is not None:
            body[key] = value
    return body


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        error = body.get("error", {})
        if isinstance(error, str):  # spec 001's error object (/api/v1): {"error", "message", "code"}
            error = body
        code, message = str(error.get("code", "error")), str(error.get("message", response.text))
    except (ValueError, AttributeError):
        code, message = "error", response.text
    raise ChasmAPIError(response.status_code, code, message)


def _sse_events(lines: Iterator[str]) -> Iterator[CommandEvent]:
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "event" in fields:
                yield CommandEvent(
                    fields["event"], int(fields.get("id", "0")), json.loads(fields.get("data", "{}"))
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        fields[key] = value[1:] if value.startswith(" ") else value
