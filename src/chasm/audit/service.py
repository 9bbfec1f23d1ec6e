"""Writes audit events. Every mutation calls `record` inside its own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.models import AuditEvent


def record(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    resource_type: str | None = None,
    resource_id: object = None,
    *,
    status: str = "success",
    summary: str | None = None,
    metadata: dict[str, Any] | None = None,
    account_id: Any = None,
) -> AuditEvent:
    event = AuditEvent(
        account_id=account_id if account_id is not None else (actor.account_id if actor else None),
        actor_type=actor.principal_type if actor else "system",
        actor_id=str(actor.principal_id) if actor else None,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        status=status,
        summary=summary,
        meta=metadata,
    )
    if actor is not None and actor.api_key_id is not None:
        event.meta = {**(metadata or {}), "api_key_id": str(actor.api_key_id)}
    session.add(event)
    return event
