"""`client.workspaces`: persistent disks, their snapshots, templates and git imports. A workspace
is named by its name or its id wherever one is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chasm.client._base import SyncTransport, body, segment
from chasm.client.models import Snapshot, Workspace
from chasm.client.pages import PAGE, Page, page_of, walk


def path_of(workspace: str) -> str:
    return f"/v1/workspaces/{segment(workspace)}"


def create_body(
    name: str | None, session_type: str, image: str | None, template: bool, clone_from: str | None
) -> dict[str, Any]:
    return body(name=name, session_type=session_type, image=image, template=template, clone_from=clone_from)


class Snapshots:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, workspace: str, name: str | None = None, *, force: bool = False) -> Snapshot:
        """A restore point of the disk (Conflict while a session is attached, unless `force`)."""
        data = self._t.request(
            "POST", f"{path_of(workspace)}/snapshots", params={"force": force}, json=body(name=name) or None
        )
        return Snapshot.from_dict(data)

    def list(self, workspace: str, *, limit: int | None = None, offset: int = 0) -> Page[Snapshot]:
        """A page of the workspace's snapshots, newest first (the server's default page is 50 rows)."""
        params = {"limit": limit, "offset": offset or None}
        data = self._t.request("GET", f"{path_of(workspace)}/snapshots", params=params)
        return page_of(data, Snapshot.from_dict, limit=limit, offset=offset)

    def iter(self, workspace: str) -> Iterator[Snapshot]:
        """Every snapshot of the workspace, page after page."""
        return walk(lambda offset: self.list(workspace, limit=PAGE, offset=offset))

    def restore(self, workspace: str, name: str, *, force: bool = False) -> Snapshot:
        path = f"{path_of(workspace)}/snapshots/{segment(name)}/restore"
        return Snapshot.from_dict(self._t.request("POST", path, params={"force": force}))

    def delete(self, workspace: str, name: str, *, force: bool = False) -> None:
        self._t.request("DELETE", f"{path_of(workspace)}/snapshots/{segment(name)}", params={"force": force})


class Workspaces:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport
        self.snapshots = Snapshots(transport)

    def create(
        self,
        name: str | None = None,
        *,
        session_type: str = "sandbox",
        image: str | None = None,
        template: bool = False,
        clone_from: str | None = None,
    ) -> Workspace:
        """A new disk (a generated name when none is given), or a clone of a template."""
        payload = create_body(name, session_type, image, template, clone_from)
        return Workspace.from_dict(self._t.request("POST", "/v1/workspaces", json=payload))

    def list(
        self,
        *,
        template: bool | None = None,
        session_type: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Workspace]:
        params = {"template": template, "session_type": session_type, "limit": limit, "offset": offset}
        data = self._t.request("GET", "/v1/workspaces", params=params)
        return page_of(data, Workspace.from_dict, limit=limit, offset=offset)

    def iter(self, *, template: bool | None = None, session_type: str | None = None) -> Iterator[Workspace]:
        """Every workspace, page after page."""
        return walk(
            lambda offset: self.list(template=template, session_type=session_type, limit=PAGE, offset=offset)
        )

    def get(self, workspace: str) -> Workspace:
        return Workspace.from_dict(self._t.request("GET", path_of(workspace)))

    def delete(self, workspace: str, *, force: bool = False) -> None:
        """Delete the disk (Conflict while a session is attached, unless `force` ends it)."""
        self._t.request("DELETE", path_of(workspace), params={"force": force})

    def rename(self, workspace: str, name: str | None) -> Workspace:
        """A new name (None: a generated one)."""
        return Workspace.from_dict(self._t.request("PUT", f"{path_of(workspace)}/name", json={"name": name}))

    def set_template(self, workspace: str, template: bool = True) -> Workspace:
        data = self._t.request("PUT", f"{path_of(workspace)}/template", json={"template": template})
        return Workspace.from_dict(data)

    def import_git(self, repo: str, *, name: str | None = None, ref: str | None = None) -> Workspace:
        """A workspace holding a clone of `repo` (owner/name on GitHub, or any git URL). The clone
        runs as a job: `workspace.job_id`, for `client.jobs.wait`."""
        payload = body(github_repo=repo, name=name, ref=ref)
        return Workspace.from_dict(self._t.request("POST", "/v1/workspaces/import", json=payload))
