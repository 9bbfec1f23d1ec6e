"""What a harvest source produces: chats and messages in one provider-neutral shape.

Sources turn a tool's files into `ParsedChat`s; the harvest engine stores them. Nothing here
touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROLES = ("user", "assistant", "system", "tool")


@dataclass
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass
class ToolCall:
    name: str
    id: str | None = None
    input: Any = None  # the arguments, as the tool recorded them (dict, or str when not JSON)
    output: str | None = None  # the result text, once known
    is_error: bool = False


@dataclass
class ParsedMessage:
    role: str  # one of ROLES
    content: str  # the visible text ("" when the message is only tool calls or thinking)
    timestamp: datetime | None = None  # timezone-aware UTC
    source_id: str | None = None  # the record's own id in the source (uuid, msg id, bubble id...)
    parent_source_id: str | None = None
    model: str | None = None
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: TokenUsage | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedChat:
    provider: str  # the source's name, e.g. "claude-code"
    source_id: str  # the chat's stable id in the source tool (session id, conversation id...)
    messages: list[ParsedMessage]
    title: str | None = None
    workspace_path: str | None = None  # the project folder (cwd) or equivalent
    workspace_name: str | None = None  # display name when there is no folder (e.g. a ChatGPT project)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    model: str | None = None  # the main model of the chat
    parent_source_id: str | None = None  # parent chat (subagent, fork) in the same provider
    source_path: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. git branch, cli version, branches


@dataclass
class ParseIssue:
    path: str
    message: str
    line: int | None = None


@dataclass
class SourceUnit:
    """One thing to parse: usually one file; sometimes a folder or a database plus its side files.

    `paths` are every file whose change means the unit must be parsed again (the engine
    fingerprints them). `resumable` says the first path is an append-only log that the source can
    continue parsing from a byte offset.
    """

    key: str  # stable identity, usually the primary path as a string
    paths: list[Path]
    resumable: bool = False


@dataclass
class Resume:
    """Where an append-only log was left: byte offset after the last complete line, and the
    source's own continuation state (for example the session id and last message id)."""

    offset: int
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParseOutcome:
    chats: list[ParsedChat]
    issues: list[ParseIssue] = field(default_factory=list)
    # For resumable units: where to continue next time. When the engine passed a Resume in, the
    # chats hold only the messages after that offset (same source_id), to be appended.
    resume: Resume | None = None
