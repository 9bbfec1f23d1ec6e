"""Request bodies and read schemas of the chat library API (spec 001's keys)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

Role = Literal["user", "assistant", "system"]
MergeStrategy = Literal["interleave", "concatenate", "smart"]


class CreateWorkspace(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    path: str = Field(min_length=1, max_length=2000)
    provider: str | None = Field(default=None, max_length=60)


class UpdateWorkspace(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    path: str | None = Field(default=None, min_length=1, max_length=2000)


class CreateMessage(BaseModel):
    role: Role
    content: str = Field(max_length=1_000_000)


class CreateSession(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    workspace_id: uuid.UUID | None = None
    provider: str | None = Field(default=None, min_length=1, max_length=60)
    tags: list[str] = Field(default_factory=list, max_length=100)
    messages: list[CreateMessage] = Field(default_factory=list, max_length=10_000)


class UpdateSession(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=100)
    archived: bool | None = None


class ForkSession(BaseModel):
    message_id: uuid.UUID | None = None
    title: str | None = Field(default=None, max_length=1000)


class MergeSessions(BaseModel):
    session_ids: list[uuid.UUID] = Field(min_length=2, max_length=100)
    title: str | None = Field(default=None, max_length=1000)
    strategy: MergeStrategy = "interleave"


# Read schemas: spec 001's keys (Workspace, Session, SessionList, Message), plus what Chasm adds.
# On /api/v1 fields that are null are left out (001 declares none nullable); on /api they are sent.

IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
SPEC001_ROLES = ("user", "assistant", "system")


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class WorkspaceRead(BaseModel):
    model_config = ConfigDict(title="Workspace")

    id: uuid.UUID
    name: str
    path: str
    provider: str | None
    session_count: int
    sessions: int = Field(description="Spec 003's name of session_count")
    last_harvested: IsoTime | None
    created_at: IsoTime | None
    updated_at: IsoTime | None
    updated: IsoTime | None = Field(description="Spec 003's name of updated_at")


class MessageRead(BaseModel):
    """001 Message. `role` is one of 001's three on /api/v1: a tool's output (role `tool` on /api)
    is an `assistant` message there, with `source_role: "tool"`. `tool_calls` lists the calls an
    assistant message made ({id, name, input, output, is_error}); `content` is always a string."""

    model_config = ConfigDict(title="Message")
    __spec001_types__: ClassVar[dict[str, Any]] = {"role": Literal["user", "assistant", "system"]}

    id: uuid.UUID
    session_id: uuid.UUID
    seq: int
    role: Literal["user", "assistant", "system", "tool"]
    source_role: str | None = Field(
        default=None, description="The recorded role, when 001 has no name for it"
    )
    content: str
    thinking: str | None
    tool_calls: list[dict[str, Any]]
    model: str | None
    token_count: int
    usage: Usage
    source_id: str | None
    metadata: dict[str, Any] | None
    created_at: IsoTime | None


class ChatRead(BaseModel):
    """001 Session (a chat)."""

    model_config = ConfigDict(title="Session")

    id: uuid.UUID
    title: str = Field(description="Empty when the chat has no title")
    workspace_id: uuid.UUID | None
    provider: str
    model: str | None
    message_count: int
    token_count: int
    usage: Usage
    tool_call_count: int
    archived: bool
    tags: list[str]
    source_id: str | None
    source_path: str | None
    source_missing: bool
    parent_id: uuid.UUID | None
    forked_from_message_id: uuid.UUID | None
    metadata: dict[str, Any] | None
    started_at: IsoTime | None
    created_at: IsoTime | None
    updated_at: IsoTime | None


class ChatDetail(ChatRead):
    model_config = ConfigDict(title="SessionDetail")

    messages: list[MessageRead]


class WorkspaceDetail(WorkspaceRead):
    model_config = ConfigDict(title=None)

    session_list: list[ChatRead]


class ChatList(BaseModel):
    """001 SessionList (served as ChatSessionList: the platform surface's SessionList is another)."""

    model_config = ConfigDict(title="ChatSessionList")

    sessions: list[ChatRead]
    total: int
    limit: int
    offset: int


class Deleted(BaseModel):
    deleted: bool = True
    id: uuid.UUID


def for_spec001(value: Any) -> Any:
    """A payload as /api/v1 sends it: messages whose role 001 does not name become `assistant`
    messages carrying `source_role` (walks lists and nested models)."""
    if isinstance(value, list):
        items = [for_spec001(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, MessageRead):
        if value.role in SPEC001_ROLES:
            return value
        return value.model_copy(update={"role": "assistant", "source_role": value.role})
    if isinstance(value, BaseModel):
        changed = {}
        for name in type(value).model_fields:
            item = getattr(value, name)
            if isinstance(item, BaseModel | list):
                new = for_spec001(item)
                if new is not item:
                    changed[name] = new
        return value.model_copy(update=changed) if changed else value
    return value
