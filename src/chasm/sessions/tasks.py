"""Job kinds of sessions: session.terminate, session.bulk_terminate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from chasm.jobs.registry import JobContext, job_kind
from chasm.kit.db import transaction
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service
from chasm.sessions.schemas import BulkTerminate


class TerminateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str
    force: bool = False


@job_kind(
    "session.terminate",
    TerminateInput,
    timeout_s=120,
    description="Terminate a session (force ends it even with open connections)",
    scope="sessions.write",
)
async def run_terminate(ctx: JobContext, data: TerminateInput) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await ctx.actor(db)
        row = await service.get_session(db, actor, data.session_id)
        await service.terminate(db, actor, runtime, row, data.force)
        return {"session_id": str(row.id), "status": row.status, "ended_reason": row.ended_reason}


@job_kind(
    "session.bulk_terminate",
    BulkTerminate,
    timeout_s=600,
    description="Terminate several sessions, or all live ones",
    scope="sessions.write",
)
async def run_bulk_terminate(ctx: JobContext, data: BulkTerminate) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await ctx.actor(db)
        return (await service.bulk_terminate(db, actor, runtime, data)).model_dump()
