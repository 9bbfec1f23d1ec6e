"""Chat history tools: `search_chats` and `read_chat`, over the caller's chat library.

An agent can find what it (or its user) said, decided or ran in past conversations of any harvested
tool, then read the surrounding window of messages. The chat library is reached through the two
small functions under "Library" below, so a rename in the chats or search domains is one edit here.
"""

from __future__ import annotations

import html
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.chats import repository as chats_repository
from chasm.chats import service as chats_service
from chasm.search import service as search_service
from chasm.tools.base import Tool, ToolContext, ToolError, ToolResult

# Library: the chats and search services this module uses, answering plain JSON.


async def _search(
    ctx: ToolContext, q: str, filters: Any, limit: int, offset: int, by: str
) -> dict[str, Any] | list[dict[str, Any]]:
    if by == "message":
        found = await search_service.search_messages(ctx.db, ctx.actor, q, filters, limit, offset)
        return found.model_dump(mode="json")
    chats = await search_service.search_chats(ctx.db, ctx.actor, q, filters, limit, offset)
    return [c.model_dump(mode="json") for c in chats]


async def _chat(ctx: ToolContext, chat_id: uuid.UUID) -> dict[str, Any]:
    chat = await chats_repository.get_chat(ctx.db, ctx.actor.account_id, chat_id)
    if chat is None:
        raise ToolError(f"chat {chat_id} not found", code="chat_not_found")
    return chats_service.chat_out(chat, host_paths=ctx.actor.instance_admin).model_dump(mode="json")


async def _messages(ctx: ToolContext, chat_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    messages, _total = await chats_service.list_messages(ctx.db, ctx.actor, chat_id, limit, offset)
    return [m.model_dump(mode="json") for m in messages]


async def _position(ctx: ToolContext, chat_id: uuid.UUID, message_id: uuid.UUID) -> int:
    message = await chats_repository.get_message(ctx.db, chat_id, message_id)
    if message is None:
        raise ToolError(f"chat {chat_id} has no message {message_id}", code="message_not_found")
    return await chats_repository.message_position(ctx.db, chat_id, message.seq)


async def _workspace_paths(ctx: ToolContext, ids: set[str]) -> dict[str, str]:
    """The folder (else the name) of each chat workspace, for a model to recognise the project."""
    paths = {}
    for raw in ids:
        ws = await chats_repository.get_workspace(ctx.db, ctx.actor.account_id, uuid.UUID(raw))
        if ws is not None and (ws.path or ws.name):
            paths[raw] = ws.path or ws.name
    return paths


def _plain_snippet(snippet: str) -> str:
    """Search snippets are HTML with <mark>; a model reads plain text with the matches in [[ ]]."""
    return html.unescape(snippet.replace("<mark>", "[[").replace("</mark>", "]]"))


BRIEF_KEYS = (
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


def _brief_chat(chat: dict[str, Any], workspaces: dict[str, str]) -> dict[str, Any]:
    brief = {k: chat.get(k) for k in BRIEF_KEYS if chat.get(k) not in (None, "")}
    if chat.get("workspace_id") in workspaces:
        brief["workspace"] = workspaces[chat["workspace_id"]]
    return brief


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
    hits_of = found["messages"] if isinstance(found, dict) else found
    workspaces = await _workspace_paths(ctx, {h["workspace_id"] for h in hits_of if h.get("workspace_id")})
    if isinstance(found, dict):
        hits = [
            {
                "chat_id": m["session_id"],
                "message_id": m["message_id"],
                "title": m["title"],
                "provider": m["provider"],
                "workspace_id": m["workspace_id"],
                **({"workspace": workspaces[m["workspace_id"]]} if m["workspace_id"] in workspaces else {}),
                "role": m["role"],
                "created_at": m["created_at"],
                "snippet": _plain_snippet(m["snippet"]),
            }
            for m in found["messages"]
        ]
        return ToolResult.of({"query": args.query, "messages": hits, "total": found["total"]})
    chats = [
        {
            **_brief_chat(c, workspaces),
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
    message_id: uuid.UUID | None = Field(
        default=None,
        description="center the window on this message (a message_id or best_message_id of search_chats); "
        "offset is then ignored",
    )
    offset: int = Field(
        default=0,
        ge=-100_000,
        le=1_000_000,
        description="position of the first message: 0 is the first; negative counts from the end "
        "(-20: the last 20)",
    )
    limit: int = Field(default=20, ge=1, le=200)
    max_chars: int = Field(
        default=4000, ge=100, le=100_000, description="longer texts are cut to this many characters"
    )
    include_thinking: bool = False
    include_tool_calls: bool = True


def _clip(value: Any, max_chars: int) -> tuple[Any, int | None]:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return (value, None) if len(text) <= max_chars else (text[:max_chars], len(text))


def _tool_call(call: dict[str, Any], max_chars: int) -> dict[str, Any]:
    out = {k: call[k] for k in ("id", "name", "is_error") if call.get(k) is not None}
    for key in ("input", "output"):
        if call.get(key) is not None:
            out[key], length = _clip(call[key], max_chars)
            if length is not None:
                out[f"{key}_truncated"] = length
    return out


def _message(m: dict[str, Any], args: ReadArgs) -> dict[str, Any]:
    out: dict[str, Any] = {"id": m["id"], "seq": m["seq"], "role": m["role"], "created_at": m["created_at"]}
    if m.get("model"):
        out["model"] = m["model"]
    out["content"], length = _clip(m.get("content") or "", args.max_chars)
    if length is not None:
        out["content_truncated"] = length
    if args.include_thinking and m.get("thinking"):
        out["thinking"], _ = _clip(m["thinking"], args.max_chars)
    if args.include_tool_calls and m.get("tool_calls"):
        out["tool_calls"] = [_tool_call(c, args.max_chars) for c in m["tool_calls"]]
    return out


async def read_chat(ctx: ToolContext, args: ReadArgs) -> ToolResult:
    chat = await _chat(ctx, args.chat_id)
    total = int(chat["message_count"])
    if args.message_id is not None:
        offset = max(0, await _position(ctx, args.chat_id, args.message_id) - args.limit // 2)
    elif args.offset < 0:
        offset = max(0, total + args.offset)
    else:
        offset = args.offset
    messages = await _messages(ctx, args.chat_id, args.limit, offset)
    workspaces = await _workspace_paths(ctx, {chat["workspace_id"]} if chat.get("workspace_id") else set())
    return ToolResult.of(
        {
            "chat": _brief_chat(chat, workspaces),
            "offset": offset,
            "messages": [_message(m, args) for m in messages],
            "more_before": offset > 0,
            "more_after": offset + len(messages) < total,
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
            "Read a window of messages of one past conversation (chat_id from search_chats): around a "
            "message (message_id), from an offset (0 is the start), or the end (negative offset)."
        ),
        args=ReadArgs,
        handler=read_chat,
        scope=lambda _a: "chats.read",
        scopes=("chats.read",),
        read_only=True,
    ),
]
