"""Cursor IDE databases (`User/globalStorage/state.vscdb` and `User/workspaceStorage/<hash>/
state.vscdb`), opened read-only and immutable so that a running Cursor is never disturbed.

The global database holds the composer chats (`cursorDiskKV`: `composerData:<id>` plus one
`bubbleId:<composerId>:<bubbleId>` row per message). A workspace database lists its composers
(`composer.composerData`), the user's prompts with times (`aiService.generations`), and, in older
builds, whole chats (`workbench.panel.aichat.view.aichat.chatdata`, `interactive.sessions`).
"""

from __future__ import annotations

import bisect
import sqlite3
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ParseOutcome, TokenUsage, ToolCall
from chasm.harvest.sources._vscode_chat import sessions_in_state_db
from chasm.harvest.sources.toolkit.coercion import (
    as_dict,
    as_int,
    as_list,
    as_str,
    output_text,
    parse_arguments,
)
from chasm.harvest.sources.toolkit.paths import list_dir
from chasm.harvest.sources.toolkit.sqlite_readonly import decode_blob
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.usage import usage_or_none
from chasm.harvest.sources.toolkit.vscode_storage import (
    file_uri_to_path,
    item,
    open_state_db,
    workspace_folder,
)

_USER, _ASSISTANT = 1, 2


# --- global database ----------------------------------------------------------------------------


def _composer_folders(user_dir: Path) -> dict[str, str]:
    """composerId → project folder, from every workspace database next to the global one."""
    folders: dict[str, str] = {}
    for workspace in list_dir(user_dir / "workspaceStorage"):
        folder = workspace_folder(workspace / "workspace.json")
        database = workspace / "state.vscdb"
        if not folder or not database.is_file():
            continue
        conn, tables, _error = open_state_db(database)
        if conn is None:
            continue
        try:
            if "ItemTable" in tables:
                for composer in as_list(as_dict(item(conn, "composer.composerData")).get("allComposers")):
                    composer_id = as_str(as_dict(composer).get("composerId"))
                    if composer_id:
                        folders[composer_id] = folder
        except sqlite3.Error:
            pass
        finally:
            conn.close()
    return folders


def _bubble_message(bubble: dict[str, Any], fallback_model: str | None) -> ParsedMessage | None:
    kind = bubble.get("type")
    text = str(bubble["text"]) if isinstance(bubble.get("text"), str) else ""
    timestamp = to_utc(bubble.get("createdAt") or as_dict(bubble.get("timingInfo")).get("clientStartTime"))
    source_id = as_str(bubble.get("bubbleId"))
    if kind == _USER:
        return ParsedMessage(role="user", content=text, timestamp=timestamp, source_id=source_id)
    if kind != _ASSISTANT:
        return None
    calls: list[ToolCall] = []
    tool = as_dict(bubble.get("toolFormerData"))
    if tool:
        raw_input = tool.get("rawArgs") if tool.get("params") in (None, "") else tool.get("params")
        result = tool.get("result")
        calls.append(
            ToolCall(
                name=as_str(tool.get("name")) or str(tool.get("tool") or "tool"),
                id=as_str(tool.get("toolCallId")),
                input=parse_arguments(raw_input),
                output=output_text(parse_arguments(result)) if result is not None else None,
                is_error=tool.get("status") == "error",
            )
        )
    thinking = bubble.get("thinking")
    if isinstance(thinking, dict):
        thinking = thinking.get("text")
    tokens = as_dict(bubble.get("tokenCount"))
    usage = TokenUsage(
        input_tokens=as_int(tokens.get("inputTokens")), output_tokens=as_int(tokens.get("outputTokens"))
    )
    if not text and not calls and not thinking:
        return None  # Cursor writes placeholder bubbles while it streams
    return ParsedMessage(
        role="assistant",
        content=text,
        timestamp=timestamp,
        source_id=source_id,
        model=as_str(as_dict(bubble.get("modelInfo")).get("modelName")) or fallback_model,
        thinking=thinking if isinstance(thinking, str) and thinking else None,
        tool_calls=calls,
        usage=usage_or_none(usage),
    )


def _bubbles(conn: sqlite3.Connection, composer_id: str) -> dict[str, dict[str, Any]]:
    # A key range instead of LIKE, so that SQLite walks the key index.
    low, high = f"bubbleId:{composer_id}:", f"bubbleId:{composer_id};"
    found: dict[str, dict[str, Any]] = {}
    for key, value in conn.execute(
        "SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?", (low, high)
    ):
        bubble = decode_blob(value)
        if isinstance(bubble, dict):
            found[key[len(low) :]] = bubble
    return found


def _composer_chat(
    conn: sqlite3.Connection, data: dict[str, Any], provider: str, path: Path, folders: dict[str, str]
) -> ParsedChat | None:
    composer_id = as_str(data.get("composerId"))
    if not composer_id:
        return None
    model = as_str(as_dict(data.get("modelConfig")).get("modelName"))
    if model == "default":
        model = None
    headers = as_list(data.get("fullConversationHeadersOnly"))
    ordered: list[dict[str, Any]]
    if headers:
        bubbles = _bubbles(conn, composer_id)
        ordered = []
        for header in headers:
            bubble_id = as_str(as_dict(header).get("bubbleId"))
            if bubble_id and bubble_id in bubbles:
                ordered.append({"bubbleId": bubble_id, **bubbles[bubble_id]})
    else:
        ordered = [as_dict(b) for b in as_list(data.get("conversation"))]
    messages = [m for m in (_bubble_message(b, model) for b in ordered) if m is not None]
    uri = as_dict(as_dict(data.get("workspaceIdentifier")).get("uri"))
    folder = as_str(uri.get("fsPath")) or file_uri_to_path(as_str(uri.get("external")))
    first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
    metadata: dict[str, Any] = {"format": "composer"}
    for key in ("unifiedMode", "status"):
        if isinstance(data.get(key), str):
            metadata[key] = data[key]
    return ParsedChat(
        provider=provider,
        source_id=composer_id,
        messages=messages,
        title=as_str(data.get("name")) or title_from(first_user),
        workspace_path=folder or folders.get(composer_id),
        created_at=to_utc(data.get("createdAt")),
        updated_at=to_utc(data.get("lastUpdatedAt")),
        model=model or next((m.model for m in messages if m.model), None),
        source_path=str(path),
        metadata=metadata,
    )


def parse_global(path: Path, provider: str) -> ParseOutcome:
    conn, tables, error = open_state_db(path)
    if conn is None:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), error or "cannot open")])
    issues: list[ParseIssue] = []
    chats: list[ParsedChat] = []
    try:
        if "cursorDiskKV" not in tables:
            return ParseOutcome(chats=[])
        folders = _composer_folders(path.parent.parent)
        rows = conn.execute(
            "SELECT key, value FROM cursorDiskKV WHERE key >= 'composerData:' AND key < 'composerData;'"
        ).fetchall()
        for key, value in rows:
            data = decode_blob(value)
            if not isinstance(data, dict):
                issues.append(ParseIssue(str(path), f"{key}: value is not a JSON object"))
                continue
            chat = _composer_chat(conn, data, provider, path, folders)
            if chat is not None and chat.messages:
                chats.append(chat)
    except sqlite3.Error as exc:
        issues.append(ParseIssue(str(path), f"cannot read database: {exc}"))
    finally:
        conn.close()
    return ParseOutcome(chats=chats, issues=issues)


# --- workspace database -------------------------------------------------------------------------


def _global_composer_ids(user_dir: Path, wanted: list[str]) -> set[str]:
    database = user_dir / "globalStorage" / "state.vscdb"
    if not wanted or not database.is_file():
        return set()
    conn, tables, _error = open_state_db(database)
    if conn is None:
        return set()
    try:
        if "cursorDiskKV" not in tables:
            return set()
        found: set[str] = set()
        for composer_id in wanted:
            row = conn.execute("SELECT 1 FROM cursorDiskKV WHERE key = ?", (f"composerData:{composer_id}",))
            if row.fetchone():
                found.add(composer_id)
        return found
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def _prompt_chats(
    composers: list[dict[str, Any]], generations: list[Any], provider: str, path: Path, folder: str | None
) -> list[ParsedChat]:
    """Composers whose messages are not in the global database: what this workspace still knows,
    the prompts the user typed (with times), placed in the composer whose lifetime holds them."""
    windows = sorted(
        (as_int(c.get("createdAt")), as_int(c.get("lastUpdatedAt")), c)
        for c in composers
        if as_int(c.get("createdAt")) and as_int(c.get("lastUpdatedAt"))
    )
    starts = [w[0] for w in windows]
    prompts: dict[str, list[ParsedMessage]] = {}
    for generation in generations:
        generation = as_dict(generation)
        if generation.get("type") != "composer":
            continue
        when = as_int(generation.get("unixMs"))
        text = generation.get("textDescription")
        if not when or not isinstance(text, str):
            continue
        # The latest-started composer that was still alive at that moment.
        index = bisect.bisect_right(starts, when) - 1
        while index >= 0 and windows[index][1] < when:
            index -= 1
        if index < 0:
            continue
        composer_id = str(windows[index][2].get("composerId"))
        prompts.setdefault(composer_id, []).append(
            ParsedMessage(
                role="user",
                content=text,
                timestamp=to_utc(when),
                source_id=as_str(generation.get("generationUUID")),
            )
        )
    chats = []
    for _start, _end, composer in windows:
        composer_id = str(composer.get("composerId"))
        messages = prompts.get(composer_id)
        if not messages:
            continue
        chats.append(
            ParsedChat(
                provider=provider,
                source_id=composer_id,
                messages=messages,
                title=as_str(composer.get("name")) or title_from(messages[0].content),
                workspace_path=folder,
                created_at=to_utc(composer.get("createdAt")),
                updated_at=to_utc(composer.get("lastUpdatedAt")),
                source_path=str(path),
                metadata={"format": "workspace-prompts", "prompts_only": True},
            )
        )
    return chats


def _tab_chats(chatdata: Any, provider: str, path: Path, folder: str | None) -> list[ParsedChat]:
    chats = []
    for tab in as_list(as_dict(chatdata).get("tabs")):
        tab = as_dict(tab)
        tab_id = as_str(tab.get("tabId"))
        messages = []
        for bubble in as_list(tab.get("bubbles")):
            bubble = as_dict(bubble)
            role = {"user": "user", "ai": "assistant"}.get(str(bubble.get("type")))
            text = str(bubble["text"]) if isinstance(bubble.get("text"), str) else ""
            if role is None or (not text and role == "assistant"):
                continue
            messages.append(
                ParsedMessage(
                    role=role,
                    content=text,
                    source_id=as_str(bubble.get("id")),
                    model=as_str(bubble.get("modelType")) if role == "assistant" else None,
                )
            )
        if not tab_id or not messages:
            continue
        chats.append(
            ParsedChat(
                provider=provider,
                source_id=tab_id,
                messages=messages,
                title=as_str(tab.get("chatTitle")) or title_from(messages[0].content),
                workspace_path=folder,
                updated_at=to_utc(tab.get("lastSendTime")),
                source_path=str(path),
                metadata={"format": "aichat-tab"},
            )
        )
    return chats


def parse_workspace(path: Path, provider: str) -> ParseOutcome:
    conn, tables, error = open_state_db(path)
    if conn is None:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), error or "cannot open")])
    folder = workspace_folder(path.parent / "workspace.json")
    chats: list[ParsedChat] = []
    issues: list[ParseIssue] = []
    try:
        if "ItemTable" not in tables:
            return ParseOutcome(chats=[])
        chats.extend(
            _tab_chats(item(conn, "workbench.panel.aichat.view.aichat.chatdata"), provider, path, folder)
        )
        sessions = item(conn, "interactive.sessions")
        chats.extend(sessions_in_state_db(sessions, provider, path.parent.name, str(path), folder))
        composers = [
            as_dict(c) for c in as_list(as_dict(item(conn, "composer.composerData")).get("allComposers"))
        ]
        generations = as_list(item(conn, "aiService.generations"))
    except sqlite3.Error as exc:
        return ParseOutcome(
            chats=chats, issues=[*issues, ParseIssue(str(path), f"cannot read database: {exc}")]
        )
    finally:
        conn.close()
    stored = _global_composer_ids(path.parent.parent.parent, [str(c.get("composerId")) for c in composers])
    pending = [c for c in composers if str(c.get("composerId")) not in stored]
    chats.extend(_prompt_chats(pending, generations, provider, path, folder))
    return ParseOutcome(chats=chats, issues=issues)
