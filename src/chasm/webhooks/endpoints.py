"""/v1/webhooks: signed event deliveries to the account's HTTPS endpoints (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.config import Settings
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import Page
from chasm.webhooks import service
from chasm.webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    EventTypeOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/v1/webhooks", tags=[Tag.WEBHOOKS])

Reader = Annotated[Actor, Depends(require_scope("webhooks.read"))]
Writer = Annotated[Actor, Depends(require_scope("webhooks.write"))]
LIMITED = [Depends(rate_limited("webhooks"))]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]


@router.get("/event-types")
async def list_event_types(actor: Reader, paging: Paging) -> Page[EventTypeOut]:
    """The event catalogue: every type an endpoint may subscribe to."""
    return service.event_types(paging)


@router.get("/deliveries")
async def list_deliveries(
    actor: Reader,
    db: DbSession,
    paging: Paging,
    webhook_id: uuid.UUID | None = None,
    event_type: str | None = None,
    status: DeliveryStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[DeliveryOut]:
    """Deliveries of the account's endpoints, newest event first."""
    return await service.list_deliveries(
        db,
        actor,
        webhook_id=webhook_id,
        event_type=event_type,
        status=status,
        since=since,
        until=until,
        paging=paging,
    )


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: uuid.UUID, actor: Reader, db: DbSession) -> DeliveryDetail:
    """One delivery: the request sent, the last response, and every attempt."""
    return await service.get_delivery(db, actor, delivery_id)


@router.post("/deliveries/{delivery_id}/replay", dependencies=LIMITED)
async def replay_delivery(delivery_id: uuid.UUID, actor: Writer, db: DbSession) -> DeliveryDetail:
    """Send a delivery again, whatever its state."""
    return await service.replay(db, actor, delivery_id)


@router.post("/deliveries/{delivery_id}/discard", dependencies=LIMITED)
async def discard_delivery(delivery_id: uuid.UUID, actor: Writer, db: DbSession) -> DeliveryDetail:
    """Stop retrying a pending delivery."""
    return await service.discard(db, actor, delivery_id)


@router.post("", status_code=201, dependencies=LIMITED)
async def create_webhook(
    body: WebhookCreate, actor: Writer, db: DbSession, settings: AppSettings
) -> WebhookWithSecret:
    """Create an endpoint; its signing secret is in this answer only."""
    return await service.create(db, actor, settings, body)


@router.get("")
async def list_webhooks(actor: Reader, db: DbSession, paging: Paging) -> Page[WebhookOut]:
    """The account's endpoints, oldest first."""
    return await service.list_endpoints(db, actor, paging)


@router.get("/{webhook_id}")
async def get_webhook(webhook_id: uuid.UUID, actor: Reader, db: DbSession) -> WebhookOut:
    """One endpoint (never its secret)."""
    return service.to_out(await service.get_endpoint(db, actor, webhook_id))


@router.patch("/{webhook_id}", dependencies=LIMITED)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, actor: Writer, db: DbSession, settings: AppSettings
) -> WebhookOut:
    """Change the URL, event types or description; enable or disable."""
    return await service.update(db, actor, settings, webhook_id, body)


@router.delete("/{webhook_id}", status_code=204, dependencies=LIMITED)
async def delete_webhook(webhook_id: uuid.UUID, actor: Writer, db: DbSession) -> Response:
    """Delete an endpoint and its deliveries."""
    await service.delete(db, actor, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", dependencies=LIMITED)
async def rotate_secret(
    webhook_id: uuid.UUID, actor: Writer, db: DbSession, settings: AppSettings
) -> WebhookWithSecret:
    """Replace the signing secret; the new one is in this answer only."""
    return await service.rotate_secret(db, actor, settings, webhook_id)
