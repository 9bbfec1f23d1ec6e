"""Job kind `harvest.run`: a harvest of one account, run by the jobs engine."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chasm.harvest import registry, service
from chasm.jobs.registry import JobContext, job_kind
from chasm.realtime import topics


class HarvestJobInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[str] | None = Field(
        default=None, description="Only these providers (default: all enabled)"
    )
    workspace_ids: list[uuid.UUID] | None = Field(
        default=None, description="Only the files of these workspaces"
    )
    include_disabled: bool = Field(default=False, description="Include providers disabled in the settings")

    @field_validator("providers")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        """Checked at enqueue, so a typo is a 422 now rather than a failed job later."""
        unknown = [p for p in value or [] if p not in registry.get_registry().sources]
        if unknown:
            raise ValueError(f"unknown provider(s): {', '.join(unknown)}")
        return value


@job_kind(
    "harvest.run",
    HarvestJobInput,
    timeout_s=6 * 3600,
    max_attempts=1,
    description="Harvest the account's chats from every coding tool found on the server",
    scope="harvest.run",
    instance_admin=True,
)
async def run_harvest(ctx: JobContext, data: HarvestJobInput) -> dict[str, Any]:
    bus, maker = getattr(ctx.app.state, "events", None), ctx.app.state.sessionmaker
    report = await service.harvest(
        maker,
        ctx.app.state.settings,
        ctx.account_id,
        providers=data.providers,
        workspace_ids=data.workspace_ids,
        include_disabled=data.include_disabled,
        progress=topics.progress_notifier(bus, ctx.account_id, job_id=str(ctx.job_id)),
        stored=topics.harvest_notifier(bus, maker, ctx.account_id),
    )
    return report.as_dict()
