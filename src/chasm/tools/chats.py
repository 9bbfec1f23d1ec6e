"""Chat history tools: `search_chats` and `read_chat`, over the caller's chat library.

An agent can find what it (or its user) said, decided or ran in past conversations of any harvested
tool, then read the surrounding window of messages. The chat library is reached through the two
small functions under "Library" below, so a rename in the chats or search domains is one edit here.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.chats import repository as chats_repository
from chasm.chats import service as chats_service
from chasm.search import service as search_service
from chasm.tools.base import Tool, ToolContext, ToolError, ToolResult

# Library: the chats and search services this module uses.


async def _search(
    ctx: ToolContext, q: str, filters: Any, limit: int, offset: int, by: str
) -> dict[str, Any] | list[dict[str, Any]]:
    if by == "message":
        return await search_service.search_messages(ctx.db, ctx.actor, q, filters, limit, offset)
    return await search_service.search_sessions(ctx.db, ctx.actor, q, filters, limit, offset)


async def _chat_window(
    ctx: ToolContext, chat_id: uuid.UUID, limit: int, offset: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The chat (without its messages) and `limit` of its messages from position `offset`."""
    chat = await chats_repository.get_chat(ctx.db, ctx.actor.account_id, chat_id)
    if chat is None:
        raise ToolError(f"chat {chat_id} not found", code="chat_not_found")
    summary = chats_service.chat_out(chat, host_paths=ctx.actor.instance_admin)
    messages, _total = await chats_service.list_messages(ctx.db, ctx.actor, chat_id, limit, offset)
    return summary, messages


def _plain_snippet(snippet: str) -> str:
    """Search snippets are HTML with <mark>; a model reads plain text with the matches in [[ ]]."""
    return html.unescape(snippet.replace("<mark>", "[[").replace("</mark>", "]]"))


def _brief_chat(chat: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "title",
        "provider",
        "model",
        "workspace_id",
        "message_count",
        "source_path",
        "started_at",
        "updated_at",
    )
    return {k: chat.get(k) for k in keys if chat.get(k) is not None}


class SearchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(
        min_length=1,
        max_length=1000,
        description='words to find (all must occur); "quoted phrase", a OR b, -excluded',
    )
    by: Literal["chat", "message"] = Field(
        default="chat",
        description="chat: matching chats, each with its best snippet; message: matching messages",
    )
    provider: str | None = Field(
        default=None, description="only chats of this tool (claude_code, codex, cursor, ...)"
    )
    workspace_id: uuid.UUID | None = Field(
        default=None, description="only chats of this chat workspace (project)"
    )
    role: Literal["user", "assistant", "system", "tool"] | None = Field(
        default=None, description="only messages of this role"
    )
    since: datetime | None = Field(default=None, description="only messages at or after this time (ISO 8601)")
    until: datetime | None = Field(default=None, description="only messages before this time (ISO 8601)")
    limit: int = Field(default=10, ge=1, le=50)
    offset: int = Field(default=0, ge=0, le=10_000)


async def search_chats(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    filters = search_service.make_filters(args.provider, args.workspace_id, args.role, args.since, args.until)
    found = await _search(ctx, args.query, filters, args.limit, args.offset, args.by)
    if isinstance(found, dict):
        hits = [
            {
                "chat_id": m["session_id"],
                "message_id": m["message_id"],
                "title": m["title"],
                "provider": m["provider"],
                "workspace_id": m["workspace_id"],
                "role": m["role"],
                "created_at": m["created_at"],
                "snippet": _plain_snippet(m["snippet"]),
            }
            for m in found["messages"]
        ]
        return ToolResult.of({"query": args.query, "messages": hits, "total": found["total"]})
    chats = [
        {
            **_brief_chat(c),
            "match_count": c["match_count"],
            "best_message_id": c["best_message_id"],
            "snippet": _plain_snippet(c["snippet"] or ""),
        }
        for c in found
    ]
    return ToolResult.of({"query": args.query, "chats": chats})


class ReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chat_id: uuid.UUID
    offset: int = Field(
        default=0,
        ge=-100_000,
        le=1_000_000,
        description="position of the first message: 0 is the first; negative counts from the end "
        "(-20: the last 20)",
    )
    limit: int = Field(default=20, ge=1, le=200)
    max_chars: int = Field(
        default=4000, ge=100, le=100_000, description="longer message texts are cut to this many characters"
    )
    include_thinking: bool = False
    include_tool_calls: bool = True


def _message(m: dict[str, Any], args: ReadArgs) -> dict[str, Any]:
    content = m.get("content") or ""
    out: dict[str, Any] = {"id": m["id"], "seq": m["seq"], "role": m["role"], "created_at": m["created_at"]}
    if m.get("model"):
        out["model"] = m["model"]
    out["content"] = content[: args.max_chars]
    if len(content) > args.max_chars:
        out["content_truncated"] = len(content)
    if args.include_thinking and m.get("thinking"):
        out["thinking"] = m["thinking"][: args.max_chars]
    if args.include_tool_calls and m.get("tool_calls"):
        calls = []
        for call in m["tool_calls"]:
            text = str(call)
            calls.append(call if len(text) <= args.max_chars else {"truncated": text[: args.max_chars]})
        out["tool_calls"] = calls
    return out


async def read_chat(ctx: ToolContext, args: ReadArgs) -> ToolResult:
    offset = args.offset
    if offset < 0:
        summary, _ = await _chat_window(ctx, args.chat_id, 1, 0)
        offset = max(0, int(summary["message_count"]) + offset)
    summary, messages = await _chat_window(ctx, args.chat_id, args.limit, offset)
    return ToolResult.of(
        {
            "chat": _brief_chat(summary),
            "offset": offset,
            "messages": [_message(m, args) for m in messages],
            "more_after": offset + len(messages) < int(summary["message_count"]),
        }
    )


CHAT_TOOLS: list[Tool[Any]] = [
    Tool(
        name="search_chats",
        description=(
            "Full-text search over your past AI conversations (Claude Code, Codex, Cursor, Copilot and "
            "others harvested into Chasm): find what was discussed, decided or run before. Filter by "
            "provider, workspace and date; matches are shown in [[ ]]. Read around a hit with read_chat."
        ),
        args=SearchArgs,
        handler=search_chats,
        scope=lambda _a: "chats.read",
        scopes=("chats.read",),
        read_only=True,
    ),
    Tool(
        name="read_chat",
        description=(
            "Read a window of messages of one past conversation (by chat_id from search_chats): "
            "offset 0 is the start, a negative offset counts from the end."
        ),
        args=ReadArgs,
        handler=read_chat,
        scope=lambda _a: "chats.read",
        scopes=("chats.read",),
        read_only=True,
    ),
]
