"""`client.jobs`, `client.keys`, `client.webhooks` and `client.billing`."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chasm.client._base import SyncTransport, body
from chasm.client.errors import JobTimeout
from chasm.client.models import ApiKey, Delivery, Job, JobKind, Webhook
from chasm.client.pages import PAGE, Page, page_of, walk

POLL_S = 0.25  # how often `jobs.wait` asks, at first
MAX_POLL_S = 2.0


def iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def next_poll(delay: float) -> float:
    return min(delay * 1.5, MAX_POLL_S)


class Jobs:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(
        self,
        kind: str,
        input: dict[str, Any] | None = None,
        *,
        run_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Enqueue a job (`kinds()` lists them with their input schemas)."""
        payload = body(kind=kind, input=input or {}, run_at=iso(run_at), idempotency_key=idempotency_key)
        return Job.from_dict(self._t.request("POST", "/v1/jobs", json=payload))

    def list(
        self, *, status: str | None = None, kind: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Page[Job]:
        """A page of jobs, newest first."""
        params = {"status": status, "kind": kind, "limit": limit, "offset": offset}
        data = self._t.request("GET", "/v1/jobs", params=params)
        return page_of(data, Job.from_dict, limit=limit, offset=offset)

    def iter(self, *, status: str | None = None, kind: str | None = None) -> Iterator[Job]:
        return walk(lambda offset: self.list(status=status, kind=kind, limit=PAGE, offset=offset))

    def kinds(self) -> builtins.list[JobKind]:
        """Every job kind this server runs (all pages)."""
        return [*walk(self._kinds_page)]

    def _kinds_page(self, offset: int) -> Page[JobKind]:
        data = self._t.request("GET", "/v1/jobs/kinds", params={"limit": PAGE, "offset": offset})
        return page_of(data, JobKind.from_dict, limit=PAGE, offset=offset)

    def get(self, job_id: str) -> Job:
        return Job.from_dict(self._t.request("GET", f"/v1/jobs/{job_id}"))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job, or ask a running one to stop."""
        return Job.from_dict(self._t.request("POST", f"/v1/jobs/{job_id}/cancel"))

    def retry(self, job_id: str) -> Job:
        return Job.from_dict(self._t.request("POST", f"/v1/jobs/{job_id}/retry"))

    def wait(self, job_id: str, *, timeout: float | None = None) -> Job:
        """The job once it has finished (succeeded, failed or canceled); JobTimeout after
        `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = POLL_S
        while True:
            job = self.get(job_id)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() + delay > deadline:
                raise JobTimeout(job)
            time.sleep(delay)
            delay = next_poll(delay)


class Keys:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(
        self, name: str, *, scopes: list[str] | None = None, expires_at: datetime | str | None = None
    ) -> ApiKey:
        """A key bound to the active account; its secret is `key.key`, shown only now. No scopes:
        full access."""
        payload = body(name=name, scopes=scopes, expires_at=iso(expires_at))
        return ApiKey.from_dict(self._t.request("POST", "/v1/keys", json=payload))

    def list(self, *, limit: int | None = None, offset: int = 0) -> Page[ApiKey]:
        """A page of the account's keys (the server's default page is 50 rows)."""
        data = self._t.request("GET", "/v1/keys", params={"limit": limit, "offset": offset or None})
        return page_of(data, ApiKey.from_dict, limit=limit, offset=offset)

    def iter(self) -> Iterator[ApiKey]:
        """Every key, page after page."""
        return walk(lambda offset: self.list(limit=PAGE, offset=offset))

    def revoke(self, key_id: str) -> ApiKey:
        """The key stops authenticating at once."""
        return ApiKey.from_dict(self._t.request("DELETE", f"/v1/keys/{key_id}"))


class Webhooks:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, url: str, event_types: list[str], description: str | None = None) -> Webhook:
        """An endpoint; its signing secret (`webhook.secret`) is shown only now."""
        payload = {"url": url, "event_types": event_types, "description": description}
        return Webhook.from_dict(self._t.request("POST", "/v1/webhooks", json=payload))

    def list(self, *, limit: int | None = None, offset: int = 0) -> Page[Webhook]:
        """A page of the account's endpoints, oldest first (the server's default page is 50 rows)."""
        data = self._t.request("GET", "/v1/webhooks", params={"limit": limit, "offset": offset or None})
        return page_of(data, Webhook.from_dict, limit=limit, offset=offset)

    def iter(self) -> Iterator[Webhook]:
        """Every endpoint, page after page."""
        return walk(lambda offset: self.list(limit=PAGE, offset=offset))

    def delete(self, webhook_id: str) -> None:
        self._t.request("DELETE", f"/v1/webhooks/{webhook_id}")

    def deliveries(
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
        data = self._t.request("GET", "/v1/webhooks/deliveries", params=params)
        return page_of(data, Delivery.from_dict, limit=limit, offset=offset)

    def delivery(self, delivery_id: str) -> Delivery:
        return Delivery.from_dict(self._t.request("GET", f"/v1/webhooks/deliveries/{delivery_id}"))

    def replay(self, delivery_id: str) -> Delivery:
        return Delivery.from_dict(self._t.request("POST", f"/v1/webhooks/deliveries/{delivery_id}/replay"))


class Billing:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def summary(self) -> dict[str, Any]:
        """Plan, limits, wallet, storage and usage of the last 24 h and 30 days."""
        data: dict[str, Any] = self._t.request("GET", "/v1/billing/summary")
        return data
