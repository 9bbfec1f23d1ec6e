"""/v1/audit/events: the active account's audit trail (spec 002)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chasm.audit import service
from chasm.audit.repository import EventFilter
from chasm.audit.schemas import AuditEventOut
from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import Page

router = APIRouter(prefix="/v1/audit", tags=[Tag.AUDIT])

Text = Annotated[str | None, Query(max_length=200)]


@router.get("/events")
async def list_audit_events(
    actor: Annotated[Actor, Depends(require_scope("audit.read"))],
    db: DbSession,
    paging: Paging,
    action: Text = None,
    resource_type: Text = None,
    resource_id: Text = None,
    status: Text = None,
    before: Text = None,
) -> Page[AuditEventOut]:
    """Audit events of the active account, newest first; page with `offset`, or with
    `before=<last id>` (or a time) to read on from a page without drifting as events arrive."""
    filters = EventFilter(action, resource_type, resource_id, status)
    return await service.list_events(db, actor, filters, before, paging)
