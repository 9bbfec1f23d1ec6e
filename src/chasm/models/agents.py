"""Agents (a model, an instruction and tools, per account), their runs and each run's steps, and
swarms (a coordinator agent delegating to worker agents) with their durable runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow

RUN_STATES = ("created", "running", "paused", "stopped", "completed", "failed")


class Agent(IdMixin, TimestampMixin, Base):
    """An agent of an account: `model` is what the model layer resolves (`provider/model`)."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))  # the name folded: names are unique per account
    description: Mapped[str] = mapped_column(Text, default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str | None] = mapped_column(String(100))
    provider: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    temperature: Mapped[float] = mapped_column(Float, default=0.7)
    max_steps: Mapped[int] = mapped_column(Integer, default=20)
    timeout_s: Mapped[int] = mapped_column(Integer, default=600)
    tools: Mapped[list[Any]] = mapped_column(default=list)
    # The sandbox's outbound network (`none` or `direct`): web_fetch is offered when not `none`.
    network: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentRun(IdMixin, TimestampMixin, Base):
    """One agent working on one task, recorded as the chat `chat_id`. A worker's run inside a
    swarm run names the swarm run and the coordinator's delegate call that asked for it."""

    __tablename__ = "agent_runs"
    __table_args__ = (
        Index("ix_agent_runs_account_created", "account_id", "created_at"),
        UniqueConstraint("parent_run_id", "parent_call_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    agent_name: Mapped[str] = mapped_column(String(100))
    swarm_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("swarm_runs.id", ondelete="CASCADE"), index=True
    )
    parent_run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent_runs.id", ondelete="CASCADE"))
    parent_call_id: Mapped[str | None] = mapped_column(String(200))
    chat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"))
    model: Mapped[str | None] = mapped_column(String(200))
    workspace: Mapped[str | None] = mapped_column(String(100))  # the sandbox workspace its tools use
    status: Mapped[str] = mapped_column(String(20), default="created")
    prompt: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(60))
    steps: Mapped[int] = mapped_column(Integer, default=0)  # model replies so far
    first_seq: Mapped[int] = mapped_column(Integer, default=0)  # its chat's messages before are context
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class AgentStep(IdMixin, Base):
    """A step of a run, as it happened: a model reply (`model`), a tool call and its result
    (`tool`), or a delegation to a worker (`delegate`)."""

    __tablename__ = "agent_steps"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))  # the tool, or the worker delegated to
    call_id: Mapped[str | None] = mapped_column(String(200))
    is_error: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Swarm(IdMixin, TimestampMixin, Base):
    __tablename__ = "swarms"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    coordinator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="RESTRICT"))
    worker_ids: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SwarmRun(IdMixin, TimestampMixin, Base):
    """A swarm working on one prompt: a durable job drives the coordinator's run (the agent run of
    this swarm run without a parent run); `chat_id` is the coordinator's chat, the root of the tree."""

    __tablename__ = "swarm_runs"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    swarm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("swarms.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="created")
    prompt: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None]
    chat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
