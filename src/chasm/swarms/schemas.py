"""Swarms (spec 003): a coordinator agent and worker agents, and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chasm.agents.schemas import NAME_PATTERN, AgentRunRead, RunError, StepRead


class CreateSwarm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    coordinator: str = Field(min_length=1, max_length=200, description="An agent's name or id")
    workers: list[str] = Field(min_length=1, max_length=20, description="Agents' names or ids")
    description: str = Field(default="", max_length=10_000)


class StartSwarm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=200_000)


class SwarmStepRead(StepRead):
    agent: str
    run_id: uuid.UUID


class SwarmRunRead(BaseModel):
    """A swarm run: its state, the coordinator's answer, every agent's run (a chat each, children
    of the coordinator's chat `chat_id`) and every step in order."""

    id: uuid.UUID
    swarm_id: uuid.UUID
    status: str  # created | running | paused | stopped | completed | failed
    prompt: str
    answer: str | None
    error: RunError | None
    chat_id: uuid.UUID | None
    job_id: uuid.UUID | None
    agents: list[AgentRunRead] = Field(default_factory=list)
    steps: list[SwarmStepRead] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class SwarmRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    coordinator: str
    coordinator_id: uuid.UUID
    workers: list[str]
    worker_ids: list[uuid.UUID]
    status: str | None = Field(description="The state of its latest run (null: never started)")
    run: SwarmRunRead | None = Field(default=None, description="Its latest run, with the steps")
    created_at: datetime
    updated_at: datetime
