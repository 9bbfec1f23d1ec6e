"""Webhook endpoints (create, list, update, delete, rotate the secret) and their deliveries
(list, inspect, replay, discard)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.kit.crypto import Box
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import WebhookDelivery, WebhookEndpoint
from chasm.webhooks import outbox, ssrf
from chasm.webhooks import repository as repo
from chasm.webhooks.catalogue import EVENT_TYPES, unknown_types
from chasm.webhooks.exceptions import (
    DeliveryNotFound,
    DeliveryStateConflict,
    UnknownEventType,
    WebhookNotFound,
)
from chasm.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EventTypeOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def to_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=str(endpoint.id),
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        consecutive_failures=endpoint.consecutive_failures,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**to_out(endpoint).model_dump(), secret=secret)


def _check_types(event_types: list[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in event_types if t.strip()})
    unknown = unknown_types(cleaned)
    if unknown or not cleaned:
        raise UnknownEventType(
            f"Unknown event type(s): {', '.join(unknown) or '(none)'}; see GET /v1/webhooks/event-types",
            details={"unknown": unknown},
        )
    return cleaned


def event_types(paging: PageParams) -> Page[EventTypeOut]:
    return paging.window([EventTypeOut(type=t, description=d) for t, d in EVENT_TYPES.items()])


async def create(
    db: AsyncSession, actor: Actor, settings: Settings, body: WebhookCreate
) -> WebhookWithSecret:
    types = _check_types(body.event_types)
    url = body.url.strip()
    await ssrf.check(url, settings.webhook_allowed_networks)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        account_id=actor.account_id,
        url=url,
        description=body.description,
        event_types=types,
        secret_sealed=Box(settings.secret_key or "").encrypt(secret),
        created_at=utcnow(),
    )
    db.add(endpoint)
    await db.flush()
    record(db, actor, "webhook.create", "webhook", endpoint.id, summary=url, metadata={"event_types": types})
    return _with_secret(endpoint, secret)


async def get_endpoint(db: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await repo.get_endpoint(db, actor.account_id, webhook_id)
    if endpoint is None:
        raise WebhookNotFound(webhook_id)
    return endpoint


async def list_endpoints(db: AsyncSession, actor: Actor, paging: PageParams) -> Page[WebhookOut]:
    rows, total = await repo.list_endpoints(db, actor.account_id, paging)
    return paging.page([to_out(e) for e in rows], total)


async def update(
    db: AsyncSession, actor: Actor, settings: Settings, webhook_id: uuid.UUID, body: WebhookUpdate
) -> WebhookOut:
    endpoint = await get_endpoint(db, actor, webhook_id)
    now = utcnow()
    if body.url is not None:
        await ssrf.check(body.url.strip(), settings.webhook_allowed_networks)
        endpoint.url = body.url.strip()
    if body.event_types is not None:
        endpoint.event_types = _check_types(body.event_types)
    if body.description is not None:
        endpoint.description = body.description
    if body.enabled is not None and body.enabled != endpoint.enabled:
        endpoint.enabled = body.enabled
        if body.enabled:  # a fresh start: its waiting deliveries go out now
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = None
            await repo.release_pending(db, endpoint.id, now)
            outbox.after_commit_wake(db)
        else:
            endpoint.disabled_reason = "disabled by request"
    endpoint.updated_at = now
    record(db, actor, "webhook.update", "webhook", endpoint.id, metadata=body.model_dump(exclude_none=True))
    return to_out(endpoint)


async def delete(db: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> None:
    endpoint = await get_endpoint(db, actor, webhook_id)
    await db.delete(endpoint)
    record(db, actor, "webhook.delete", "webhook", webhook_id, summary=endpoint.url)


async def rotate_secret(
    db: AsyncSession, actor: Actor, settings: Settings, webhook_id: uuid.UUID
) -> WebhookWithSecret:
    """A new secret signs every attempt from now on (retries of older deliveries included)."""
    endpoint = await get_endpoint(db, actor, webhook_id)
    secret = new_secret()
    endpoint.secret_sealed = Box(settings.secret_key or "").encrypt(secret)
    endpoint.updated_at = utcnow()
    record(db, actor, "webhook.secret.rotate", "webhook", endpoint.id)
    return _with_secret(endpoint, secret)


def _delivery_out(delivery: WebhookDelivery, event_id: str) -> DeliveryOut:
    return DeliveryOut(
        id=str(delivery.id),
        webhook_id=str(delivery.endpoint_id),
        event_id=event_id,
        event_type=delivery.event_type,
        status=delivery.status,  # type: ignore[arg-type]
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )


async def list_deliveries(
    db: AsyncSession,
    actor: Actor,
    *,
    webhook_id: uuid.UUID | None,
    event_type: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    paging: PageParams,
) -> Page[DeliveryOut]:
    rows, total = await repo.list_deliveries(
        db,
        actor.account_id,
        endpoint_id=webhook_id,
        event_type=event_type,
        status=status,
        since=since,
        until=until,
        paging=paging,
    )
    return paging.page([_delivery_out(d, p) for d, p in rows], total)


async def get_delivery(db: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> DeliveryDetail:
    found = await repo.get_delivery(db, actor.account_id, delivery_id)
    if found is None:
        raise DeliveryNotFound(delivery_id)
    delivery, event = found
    attempts = [
        AttemptOut(
            number=a.number,
            started_at=a.started_at,
            request_headers=a.request_headers,
            status_code=a.status_code,
            response_excerpt=a.response_excerpt,
            error=a.error,
            latency_ms=a.latency_ms,
        )
        for a in await repo.attempts_of(db, delivery.id)
    ]
    last = attempts[-1] if attempts else None
    return DeliveryDetail(
        **_delivery_out(delivery, event.public_id).model_dump(),
        request_body=event.payload,
        request_headers=last.request_headers if last else None,
        response_status=last.status_code if last else None,
        response_excerpt=last.response_excerpt if last else None,
        latency_ms=last.latency_ms if last else None,
        attempt_log=attempts,
    )


async def _delivery(db: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> WebhookDelivery:
    found = await repo.get_delivery(db, actor.account_id, delivery_id)
    if found is None:
        raise DeliveryNotFound(delivery_id)
    return found[0]


async def replay(db: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> DeliveryDetail:
    """Send a delivery again (same webhook-id, so receivers can tell), whatever its state; it
    takes its place in the endpoint's order again."""
    delivery = await _delivery(db, actor, delivery_id)
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.updated_at = utcnow()
    record(db, actor, "webhook.delivery.replay", "webhook_delivery", delivery.id)
    outbox.after_commit_wake(db)
    await db.flush()
    return await get_delivery(db, actor, delivery_id)


async def discard(db: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> DeliveryDetail:
    """Stop trying a pending delivery (it no longer blocks the ones behind it)."""
    delivery = await _delivery(db, actor, delivery_id)
    if delivery.status != "pending":
        raise DeliveryStateConflict(
            f"Only a pending delivery can be discarded; this one is {delivery.status}"
        )
    delivery.status = "discarded"
    delivery.updated_at = utcnow()
    record(db, actor, "webhook.delivery.discard", "webhook_delivery", delivery.id)
    outbox.after_commit_wake(db)
    await db.flush()
    return await get_delivery(db, actor, delivery_id)
