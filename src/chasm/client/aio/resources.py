"""`client.workspaces`, `client.jobs`, `client.keys`, `client.webhooks` and `client.billing` of
the async client (see their sync twins for what each call does)."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from chasm.client._base import AsyncTransport, body, segment
from chasm.client.errors import JobTimeout
from chasm.client.models import ApiKey, Delivery, Job, JobKind, Snapshot, Webhook, Workspace
from chasm.client.pages import PAGE, Page, awalk, page_of
from chasm.client.platform import POLL_S, iso, next_poll
from chasm.client.workspaces import create_body, path_of


class AsyncSnapshots:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, workspace: str, name: str | None = None, *, force: bool = False) -> Snapshot:
        data = await self._t.request(
            "POST", f"{path_of(workspace)}/snapshots", params={"force": force}, json=body(name=name) or None
        )
        return Snapshot.from_dict(data)

    async def list(self, workspace: str, *, limit: int | None = None, offset: int = 0) -> Page[Snapshot]:
        params = {"limit": limit, "offset": offset or None}
        data = await self._t.request("GET", f"{path_of(workspace)}/snapshots", params=params)
        return page_of(data, Snapshot.from_dict, limit=limit, offset=offset)

    def iter(self, workspace: str) -> AsyncIterator[Snapshot]:
        return awalk(lambda offset: self.list(workspace, limit=PAGE, offset=offset))

    async def restore(self, workspace: str, name: str, *, force: bool = False) -> Snapshot:
        path = f"{path_of(workspace)}/snapshots/{segment(name)}/restore"
        return Snapshot.from_dict(await self._t.request("POST", path, params={"force": force}))

    async def delete(self, workspace: str, name: str, *, force: bool = False) -> None:
        path = f"{path_of(workspace)}/snapshots/{segment(name)}"
        await self._t.request("DELETE", path, params={"force": force})


class AsyncWorkspaces:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport
        self.snapshots = AsyncSnapshots(transport)

    async def create(
        self,
        name: str | None = None,
        *,
        session_type: str = "sandbox",
        image: str | None = None,
        template: bool = False,
        clone_from: str | None = None,
    ) -> Workspace:
        payload = create_body(name, session_type, image, template, clone_from)
        return Workspace.from_dict(await self._t.request("POST", "/v1/workspaces", json=payload))

    async def list(
        self,
        *,
        template: bool | None = None,
        session_type: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Workspace]:
        params = {"template": template, "session_type": session_type, "limit": limit, "offset": offset}
        data = await self._t.request("GET", "/v1/workspaces", params=params)
        return page_of(data, Workspace.from_dict, limit=limit, offset=offset)

    def iter(
        self, *, template: bool | None = None, session_type: str | None = None
    ) -> AsyncIterator[Workspace]:
        return awalk(
            lambda offset: self.list(template=template, session_type=session_type, limit=PAGE, offset=offset)
        )

    async def get(self, workspace: str) -> Workspace:
        return Workspace.from_dict(await self._t.request("GET", path_of(workspace)))

    async def delete(self, workspace: str, *, force: bool = False) -> None:
        await self._t.request("DELETE", path_of(workspace), params={"force": force})

    async def rename(self, workspace: str, name: str | None) -> Workspace:
        data = await self._t.request("PUT", f"{path_of(workspace)}/name", json={"name": name})
        return Workspace.from_dict(data)

    async def set_template(self, workspace: str, template: bool = True) -> Workspace:
        data = await self._t.request("PUT", f"{path_of(workspace)}/template", json={"template": template})
        return Workspace.from_dict(data)

    async def import_git(self, repo: str, *, name: str | None = None, ref: str | None = None) -> Workspace:
        payload = body(github_repo=repo, name=name, ref=ref)
        return Workspace.from_dict(await self._t.request("POST", "/v1/workspaces/import", json=payload))


class AsyncJobs:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
        self,
        kind: str,
        input: dict[str, Any] | None = None,
        *,
        run_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        payload = body(kind=kind, input=input or {}, run_at=iso(run_at), idempotency_key=idempotency_key)
        return Job.from_dict(await self._t.request("POST", "/v1/jobs", json=payload))

    async def list(
        self, *, status: str | None = None, kind: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Page[Job]:
        params = {"status": status, "kind": kind, "limit": limit, "offset": offset}
        data = await self._t.request("GET", "/v1/jobs", params=params)
        return page_of(data, Job.from_dict, limit=limit, offset=offset)

    def iter(self, *, status: str | None = None, kind: str | None = None) -> AsyncIterator[Job]:
        return awalk(lambda offset: self.list(status=status, kind=kind, limit=PAGE, offset=offset))

    async def kinds(self) -> builtins.list[JobKind]:
        return [k async for k in awalk(self._kinds_page)]

    async def _kinds_page(self, offset: int) -> Page[JobKind]:
        data = await self._t.request("GET", "/v1/jobs/kinds", params={"limit": PAGE, "offset": offset})
        return page_of(data, JobKind.from_dict, limit=PAGE, offset=offset)

    async def get(self, job_id: str) -> Job:
        return Job.from_dict(await self._t.request("GET", f"/v1/jobs/{job_id}"))

    async def cancel(self, job_id: str) -> Job:
        return Job.from_dict(await self._t.request("POST", f"/v1/jobs/{job_id}/cancel"))

    async def retry(self, job_id: str) -> Job:
        return Job.from_dict(await self._t.request("POST", f"/v1/jobs/{job_id}/retry"))

    async def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = POLL_S
        while True:
            job = await self.get(job_id)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() + delay > deadline:
                raise JobTimeout(job)
            await asyncio.sleep(delay)
            delay = next_poll(delay)


class AsyncKeys:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
        self, name: str, *, scopes: builtins.list[str] | None = None, expires_at: datetime | str | None = None
    ) -> ApiKey:
        payload = body(name=name, scopes=scopes, expires_at=iso(expires_at))
        return ApiKey.from_dict(await self._t.request("POST", "/v1/keys", json=payload))

    async def list(self, *, limit: int | None = None, offset: int = 0) -> Page[ApiKey]:
        data = await self._t.request("GET", "/v1/keys", params={"limit": limit, "offset": offset or None})
        return page_of(data, ApiKey.from_dict, limit=limit, offset=offset)

    def iter(self) -> AsyncIterator[ApiKey]:
        return awalk(lambda offset: self.list(limit=PAGE, offset=offset))

    async def revoke(self, key_id: str) -> ApiKey:
        return ApiKey.from_dict(await self._t.request("DELETE", f"/v1/keys/{key_id}"))


class AsyncWebhooks:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
        self, url: str, event_types: builtins.list[str], description: str | None = None
    ) -> Webhook:
        payload = {"url": url, "event_types": event_types, "description": description}
        return Webhook.from_dict(await self._t.request("POST", "/v1/webhooks", json=payload))

    async def list(self, *, limit: int | None = None, offset: int = 0) -> Page[Webhook]:
        params = {"limit": limit, "offset": offset or None}
        data = await self._t.request("GET", "/v1/webhooks", params=params)
        return page_of(data, Webhook.from_dict, limit=limit, offset=offset)

    def iter(self) -> AsyncIterator[Webhook]:
        return awalk(lambda offset: self.list(limit=PAGE, offset=offset))

    async def delete(self, webhook_id: str) -> None:
        await self._t.request("DELETE", f"/v1/webhooks/{webhook_id}")

    async def deliveries(
        self,
        *,
        webhook_id: str | None = None,
        event_type: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Delivery]:
        params = {
            "webhook_id": webhook_id,
            "event_type": event_type,
            "status": status,
            "limit": limit,
            "offset": offset or None,
        }
        data = await self._t.request("GET", "/v1/webhooks/deliveries", params=params)
        return page_of(data, Delivery.from_dict, limit=limit, offset=offset)

    async def delivery(self, delivery_id: str) -> Delivery:
        return Delivery.from_dict(await self._t.request("GET", f"/v1/webhooks/deliveries/{delivery_id}"))

    async def replay(self, delivery_id: str) -> Delivery:
        path = f"/v1/webhooks/deliveries/{delivery_id}/replay"
        return Delivery.from_dict(await self._t.request("POST", path))


class AsyncBilling:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._t.request("GET", "/v1/billing/summary")
        return data
