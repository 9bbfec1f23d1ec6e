"""Job kind `harvest.run`: a harvest of one account, run by the jobs engine."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chasm.harvest import service
from chasm.jobs.registry import JobContext, job_kind


class HarvestJobInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[str] | None = Field(
        default=None, description="Only these providers (default: all enabled)"
    )
    workspace_ids: list[uuid.UUID] | None = Field(
        default=None, description="Only the files of these workspaces"
    )
    include_disabled: bool = Field(default=False, description="Include providers disabled in the settings")


@job_kind(
    "harvest.run",
    HarvestJobInput,
    timeout_s=6 * 3600,
    max_attempts=1,
    description="Harvest the account's chats from every coding tool found on the server",
)
async def run_harvest(ctx: JobContext, data: HarvestJobInput) -> dict[str, Any]:
    report = await service.harvest(
        ctx.app.state.sessionmaker,
        ctx.app.state.settings,
        ctx.account_id,
        providers=data.providers,
        workspace_ids=data.workspace_ids,
        include_disabled=data.include_disabled,
    )
    return report.as_dict()
