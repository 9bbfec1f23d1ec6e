"""Agents and their runs: request bodies (spec 001's and 003's fields) and read schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

# The tools an agent may name; `file_read`/`file_write` are spec 003's words for read/write_file.
AGENT_TOOLS = (
    "terminal",
    "read_file",
    "write_file",
    "apply_edit",
    "list_files",
    "browser",
    "search_chats",
    "read_chat",
    "web_fetch",
)
TOOL_ALIASES = {"file_read": "read_file", "file_write": "write_file", "file_edit": "apply_edit"}
DEFAULT_TOOLS = [
    "terminal",
    "read_file",
    "write_file",
    "apply_edit",
    "list_files",
    "search_chats",
    "read_chat",
    "web_fetch",  # offered to the model only when the agent's network is not `none`
]
# The agent's sandbox network (sessions' `network.mode`; `proxy` needs a proxy URL agents do not hold).
AgentNetwork = Literal["none", "direct"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def normalize_tools(tools: list[str] | None) -> list[str] | None:
    if tools is None:
        return None
    out: list[str] = []
    for raw in tools:
        name = TOOL_ALIASES.get(raw.strip(), raw.strip())
        if name not in AGENT_TOOLS:
            raise ValueError(f"unknown tool '{raw}'; known tools: {', '.join(AGENT_TOOLS)}")
        if name not in out:
            out.append(name)
    return out


class AgentFields(BaseModel):
    """Fields shared by create and update: 001's `system_prompt` (or 003's `instruction`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    description: str | None = Field(default=None, max_length=10_000)
    system_prompt: str | None = Field(
        default=None,
        max_length=200_000,
        validation_alias=AliasChoices("system_prompt", "instruction"),
        description="The agent's instruction (spec 003 calls it `instruction`)",
    )
    role: str | None = Field(default=None, max_length=100)
    provider_id: str | None = Field(
        default=None, max_length=200, description="A provider's id or name; else `model` may name it"
    )
    model: str | None = Field(
        default=None,
        max_length=200,
        description="`provider/model`, or a model of `provider_id` (or of the default provider)",
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_steps: int | None = Field(default=None, ge=1, le=500, description="Model replies per run at most")
    timeout_s: int | None = Field(default=None, ge=1, le=24 * 3600, description="Wall-clock limit of a run")
    tools: list[str] | None = Field(default=None, max_length=20, description=f"Of: {', '.join(AGENT_TOOLS)}")
    network: AgentNetwork | None = Field(
        default=None,
        description="The sandbox's outbound network: `none` (default) or `direct` (any address but the "
        "host's own); `web_fetch` is offered only when it is not `none`",
    )

    _tools = field_validator("tools")(normalize_tools)


class CreateAgent(AgentFields):
    name: str = Field(pattern=NAME_PATTERN, description="Unique in the account (letters, digits, . _ -)")


class UpdateAgent(AgentFields):
    name: str | None = Field(default=None, pattern=NAME_PATTERN)


class CloneAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, pattern=NAME_PATTERN, description="Default: `<name>-copy`")


class AgentRead(BaseModel):
    """Spec 001's Agent, with spec 003's fields (`instruction`, `role`, `tools`) and the limits."""

    id: uuid.UUID
    name: str
    description: str
    system_prompt: str
    instruction: str
    role: str | None
    provider_id: str | None
    model: str | None
    temperature: float
    max_steps: int
    timeout_s: int
    tools: list[str]
    network: str
    created_at: datetime
    updated_at: datetime


class RunAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=200_000)


class StepRead(BaseModel):
    seq: int
    kind: str  # model | tool | delegate
    name: str | None
    call_id: str | None
    is_error: bool
    summary: str
    input_tokens: int
    output_tokens: int
    duration_ms: int
    created_at: datetime


class RunError(BaseModel):
    code: str
    message: str


class AgentRunRead(BaseModel):
    """A run: its state, its answer (once completed), its failure reason, and the chat it is."""

    id: uuid.UUID
    agent_id: uuid.UUID | None
    agent: str
    status: str
    prompt: str
    answer: str | None
    error: RunError | None
    chat_id: uuid.UUID | None
    parent_run_id: uuid.UUID | None
    swarm_run_id: uuid.UUID | None
    model: str | None
    workspace: str | None
    step_count: int
    steps: list[StepRead] = Field(default_factory=list)
    created_at: datetime
    finished_at: datetime | None


class ContinueChat(BaseModel):
    """`POST /sessions/{id}/continue`: the chat goes on with an agent (or a bare model)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=200_000)
    agent: str | None = Field(default=None, max_length=200, description="An agent's name or id")
    provider_id: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200, description="`provider/model` or a model")


def step_summary(value: Any, limit: int = 500) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
