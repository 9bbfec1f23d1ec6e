"""Amp (Sourcegraph): one JSON file per thread, ~/.local/share/amp/threads/T-<uuid>.json
($XDG_DATA_HOME/amp/threads; on Windows also %LOCALAPPDATA%\\amp\\threads).

A thread is {v, id, created (epoch ms), title, env.initial.trees[{uri}], messages[...]}. Messages
have role, messageId, Anthropic-style content blocks (text, thinking, tool_use, tool_result with
toolUseID and run.result), usage {model, inputTokens, outputTokens, cacheCreationInputTokens,
cacheReadInputTokens, timestamp} and meta.sentAt (epoch ms) on user messages. Tool results fold
into the calls. workspace_path is the first tree's file:// folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_dict, as_list, as_str
from chasm.harvest.sources.toolkit.jsonl import load_json
from chasm.harvest.sources.toolkit.paths import env_path, walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex, tool_message
from chasm.harvest.sources.toolkit.usage import main_model, usage_from_anthropic


class AmpSource:
    name = "amp"
    display_name = "Amp"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        data = env_path(env, "XDG_DATA_HOME") or home / ".local" / "share"
        roots = [data / "amp" / "threads"]
        if platform == "win32":
            local = env_path(env, "LOCALAPPDATA") or home / "AppData" / "Local"
            roots.append(local / "amp" / "threads")
        elif data != home / ".local" / "share":
            roots.append(home / ".local" / "share" / "amp" / "threads")
        return roots

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        for path in walk_files(roots, lambda p: p.suffix == ".json" and p.name.startswith("T-")):
            yield SourceUnit(key=str(path), paths=[path])

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        data, issue = load_json(path)
        if issue is not None:
            return ParseOutcome([], [issue])
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            return ParseOutcome([], [ParseIssue(str(path), "not an Amp thread (no messages)")])
        chat = _build(path, data)
        return ParseOutcome([chat] if chat else [])


def _build(path: Path, data: dict[str, Any]) -> ParsedChat | None:
    messages: list[ParsedMessage] = []
    tools = ToolCallIndex()
    created = to_utc(data.get("created"))
    for raw in data["messages"]:
        if not isinstance(raw, dict):
            continue
        role = raw.get("role")
        usage_raw = as_dict(raw.get("usage"))
        meta_raw = as_dict(raw.get("meta"))
        ts = to_utc(meta_raw.get("sentAt")) or to_utc(usage_raw.get("timestamp"))
        blocks = read_blocks(raw.get("content"))
        for tool_id, output, is_error in blocks.results:
            if not tools.resolve(tool_id, output, is_error):
                messages.append(tool_message(tool_id, output, is_error, ts))
        source_id = str(raw["messageId"]) if raw.get("messageId") is not None else None
        if role == "assistant":
            for call in blocks.tool_calls:
                tools.add(call)
            if not (blocks.text or blocks.tool_calls or blocks.thinking):
                continue
            extra: dict[str, Any] = {}
            state = raw.get("state")
            if isinstance(state, dict) and as_str(state.get("stopReason")):
                extra["stop_reason"] = state["stopReason"]
            messages.append(
                ParsedMessage(
                    role="assistant",
                    content=blocks.text,
                    timestamp=ts,
                    source_id=source_id,
                    model=as_str(usage_raw.get("model")),
                    thinking="\n\n".join(blocks.thinking) or None,
                    tool_calls=list(blocks.tool_calls),
                    usage=usage_from_anthropic(usage_raw) if usage_raw else None,
                    metadata=extra,
                )
            )
        elif role in ("user", "system") and (blocks.text or blocks.images):
            messages.append(
                ParsedMessage(
                    role=str(role),
                    content=blocks.text,
                    timestamp=ts,
                    source_id=source_id,
                    metadata={"images": blocks.images} if blocks.images else {},
                )
            )
    if not messages:
        return None
    workspace = None
    meta: dict[str, Any] = {}
    env = as_dict(data.get("env"))
    initial = as_dict(env.get("initial"))
    for tree in as_list(initial.get("trees")):
        if isinstance(tree, dict) and as_str(tree.get("uri")):
            uri = urlparse(tree["uri"])
            if uri.scheme == "file":
                workspace = unquote(uri.path)
                repo = tree.get("repository")
                if isinstance(repo, dict) and as_str(repo.get("url")):
                    meta["git_repository"] = repo["url"]
                break
    if as_str(data.get("agentMode")):
        meta["agent_mode"] = data["agentMode"]
    if data.get("v") is not None:
        meta["version"] = data["v"]
    first, last = time_bounds(messages)
    return ParsedChat(
        provider="amp",
        source_id=as_str(data.get("id")) or path.stem,
        messages=messages,
        title=as_str(data.get("title")),
        workspace_path=workspace,
        created_at=created or first,
        updated_at=last,
        model=main_model(messages),
        source_path=str(path),
        metadata=meta,
    )


source = AmpSource()
