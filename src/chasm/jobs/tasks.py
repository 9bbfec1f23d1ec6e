"""Job kinds of the jobs domain itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chasm.jobs import repository as repo
from chasm.jobs.registry import JobContext, job_kind
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow


class AuditPruneInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    older_than_days: int = Field(ge=1, le=36500, description="Delete audit events older than this many days")


@job_kind(
    "audit.prune",
    AuditPruneInput,
    timeout_s=600,
    max_attempts=3,
    description="Delete the account's audit events older than a number of days",
    scope="audit.write",
    account_admin=True,
)
async def prune_audit_events(ctx: JobContext, data: AuditPruneInput) -> dict[str, Any]:
    before = utcnow() - timedelta(days=data.older_than_days)
    async with transaction(ctx.app.state.sessionmaker) as db:
        deleted = await repo.delete_audit_events_before(db, ctx.account_id, before)
    return {"deleted": deleted, "before": before.isoformat()}
