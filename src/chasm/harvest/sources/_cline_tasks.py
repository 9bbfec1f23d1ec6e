"""Task folders of Cline and its forks (Roo Code): `tasks/<id>/api_conversation_history.json`
(Anthropic-format messages), `ui_messages.json` (what the panel showed, with times and the usage
of each API request), `task_metadata.json` and, for Roo, `history_item.json`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ParseOutcome, SourceUnit, TokenUsage
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_dict, as_int, as_list, as_str
from chasm.harvest.sources.toolkit.jsonl import loads, read_json
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex
from chasm.harvest.sources.toolkit.usage import usage_or_none
from chasm.harvest.sources.toolkit.vscode_storage import vscode_user_dirs

TASK_FILES = ("api_conversation_history.json", "ui_messages.json", "task_metadata.json", "history_item.json")
_TOOL_RESULT = re.compile(r"^\[[\w-]+(?: for '.*?')?\] Result:[ \t]*\n?", re.DOTALL)
_ENVIRONMENT = re.compile(r"<environment_details>.*?</environment_details>", re.DOTALL)
_TASK = re.compile(r"^\s*<task>\s*(.*?)\s*</task>", re.DOTALL)
_FEEDBACK = re.compile(r"^\s*<feedback>\s*(.*?)\s*</feedback>", re.DOTALL)
_CWD = re.compile(r"# Current Working Directory \((.+?)\) Files")
_RESPONSE_SAYS = frozenset({"text", "reasoning", "tool", "command", "completion_result", "browser_action"})


def default_roots(
    extension_id: str, platform: str, home: Path, env: Mapping[str, str], extra: tuple[Path, ...] = ()
) -> list[Path]:
    return [user / "globalStorage" / extension_id for user in vscode_user_dirs(platform, home, env)] + list(
        extra
    )


def _task_unit(folder: Path) -> SourceUnit | None:
    paths = [folder / name for name in TASK_FILES if is_file(folder / name)]
    if not paths or paths[0].name not in ("api_conversation_history.json", "ui_messages.json"):
        return None
    return SourceUnit(key=str(folder), paths=paths)


def discover_tasks(roots: Iterator[Path] | list[Path]) -> Iterator[SourceUnit]:
    seen: set[str] = set()
    for root in roots:
        if is_dir(root / "tasks"):
            folders = list_dir(root / "tasks")
        elif root.name == "tasks":
            folders = list_dir(root)
        else:
            folders = [root]
        for folder in folders:
            unit = _task_unit(folder) if is_dir(folder) else None
            if unit is not None and unit.key not in seen:
                seen.add(unit.key)
                yield unit


def _user_text(blocks_text: list[str]) -> str:
    pieces = []
    for text in blocks_text:
        text = _ENVIRONMENT.sub("", text).strip()
        if not text:
            continue
        match = _TASK.match(text) or _FEEDBACK.match(text)
        pieces.append(match.group(1) if match else text)
    return "\n\n".join(pieces)


class _TaskParser:
    def __init__(self, folder: Path, provider: str, issues: list[ParseIssue]) -> None:
        self.folder = folder
        self.provider = provider
        self.issues = issues
        self.messages: list[ParsedMessage] = []
        self.tools = ToolCallIndex()
        self.cwd: str | None = None

    def api_messages(self, history: list[Any]) -> None:
        path = str(self.folder / "api_conversation_history.json")
        for index, raw in enumerate(history):
            if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
                self.issues.append(ParseIssue(path, f"message {index} is not a user/assistant message"))
                continue
            if raw["role"] == "user":
                self._user(raw, index)
            else:
                self._assistant(raw, index)

    def _user(self, raw: dict[str, Any], index: int) -> None:
        blocks = read_blocks(raw.get("content"))
        if self.cwd is None:
            for text in blocks.texts:
                match = _CWD.search(text)
                if match:
                    self.cwd = match.group(1)
                    break
        for call_id, output, is_error in blocks.results:
            self._result(call_id, output, is_error, raw)
        texts = blocks.texts
        if not blocks.results and texts and _TOOL_RESULT.match(texts[0]):
            # Cline reports a tool's result as the first text block, "[tool for 'x'] Result:".
            self._result(None, _TOOL_RESULT.sub("", texts[0], count=1), False, raw)
            return
        if blocks.results:
            return  # the rest of a tool-result turn is context Cline adds, not something typed
        content = _user_text(texts)
        if content:
            self.messages.append(
                ParsedMessage(
                    role="user", content=content, timestamp=to_utc(raw.get("ts")), metadata={"index": index}
                )
            )

    def _result(self, call_id: str | None, output: str | None, is_error: bool, raw: dict[str, Any]) -> None:
        if self.tools.resolve(call_id, output, is_error) is None:
            self.messages.append(
                ParsedMessage(
                    role="tool",
                    content=output or "",
                    timestamp=to_utc(raw.get("ts")),
                    metadata={"tool_call_id": call_id} if call_id else {},
                )
            )

    def _assistant(self, raw: dict[str, Any], index: int) -> None:
        blocks = read_blocks(raw.get("content"))
        # Results always answer the turn just before them; a call left unanswered stays so.
        self.tools = ToolCallIndex()
        for call in blocks.tool_calls:
            self.tools.add(call)
        model_info = as_dict(raw.get("modelInfo"))
        tokens = as_dict(as_dict(raw.get("metrics")).get("tokens"))
        usage = TokenUsage(
            input_tokens=as_int(tokens.get("prompt")),
            output_tokens=as_int(tokens.get("completion")),
            cache_read_tokens=as_int(tokens.get("cached")),
        )
        self.messages.append(
            ParsedMessage(
                role="assistant",
                content="\n\n".join(t.strip() for t in blocks.texts if t.strip()),
                timestamp=to_utc(raw.get("ts")),
                source_id=as_str(raw.get("id")),
                model=as_str(model_info.get("modelId")),
                thinking="\n\n".join(blocks.thinking) or None,
                tool_calls=blocks.tool_calls,
                usage=usage_or_none(usage),
                metadata={"index": index},
            )
        )

    def ui_fallback(self, ui: list[dict[str, Any]]) -> None:
        """Without an API history, the panel's own record: the task, feedback and answers."""
        for position, item in enumerate(ui):
            say = item.get("say")
            text = item.get("text") if isinstance(item.get("text"), str) else ""
            if not text:
                continue
            if say == "task" or (say == "text" and position == 0) or say == "user_feedback":
                role = "user"
            elif say in ("text", "completion_result"):
                role = "assistant"
            else:
                continue
            self.messages.append(ParsedMessage(role=role, content=text, timestamp=to_utc(item.get("ts"))))

    def apply_ui(self, ui: list[dict[str, Any]], have_api: bool) -> float:
        """Times and usage from the panel record; returns the total cost."""
        requests: list[tuple[int, dict[str, Any], int | None]] = []  # (ts, info, first answer ts)
        cost = 0.0
        for item in ui:
            if item.get("say") == "api_req_started":
                info: Any = {}
                try:
                    info = loads(item.get("text") or "{}")
                except ValueError:
                    self.issues.append(
                        ParseIssue(str(self.folder / "ui_messages.json"), "bad api_req_started")
                    )
                info = as_dict(info)
                if isinstance(info.get("cost"), int | float):
                    cost += float(info["cost"])
                requests.append((as_int(item.get("ts")), info, None))
            elif requests and requests[-1][2] is None and str(item.get("say")) in _RESPONSE_SAYS:
                start, info, _ = requests[-1]
                requests[-1] = (start, info, as_int(item.get("ts")))
        if not have_api:
            return cost
        assistants = [m for m in self.messages if m.role == "assistant"]
        first_ts = as_int(ui[0].get("ts")) if ui else 0
        for message, (start, info, answered) in zip(assistants, requests, strict=False):
            if message.timestamp is None:
                message.timestamp = to_utc(answered or start)
            usage = TokenUsage(
                input_tokens=as_int(info.get("tokensIn")),
                output_tokens=as_int(info.get("tokensOut")),
                cache_read_tokens=as_int(info.get("cacheReads")),
                cache_write_tokens=as_int(info.get("cacheWrites")),
            )
            if usage.total:
                message.usage = usage
            if isinstance(info.get("cost"), int | float):
                message.metadata["cost"] = info["cost"]
        # A user turn is sent by the request that follows it.
        request_index = 0
        for message in self.messages:
            if message.role == "assistant":
                request_index += 1
            elif message.timestamp is None and message.role == "user":
                if request_index == 0 and first_ts:
                    message.timestamp = to_utc(first_ts)
                elif request_index < len(requests):
                    message.timestamp = to_utc(requests[request_index][0])
        return cost


def parse_task(unit: SourceUnit, provider: str) -> ParseOutcome:
    folder = Path(unit.key)
    issues: list[ParseIssue] = []
    files = {p.name: p for p in unit.paths}
    history = (
        read_json(files["api_conversation_history.json"], issues)
        if "api_conversation_history.json" in files
        else None
    )
    ui_raw = read_json(files["ui_messages.json"], issues) if "ui_messages.json" in files else None
    meta = as_dict(read_json(files["task_metadata.json"], issues)) if "task_metadata.json" in files else {}
    item = as_dict(read_json(files["history_item.json"], issues)) if "history_item.json" in files else {}
    if history is not None and not isinstance(history, list):
        issues.append(ParseIssue(str(files["api_conversation_history.json"]), "not a list of messages"))
        history = None
    ui = [u for u in as_list(ui_raw) if isinstance(u, dict)]
    parser = _TaskParser(folder, provider, issues)
    if history is not None:
        parser.api_messages(history)
    else:
        parser.ui_fallback(ui)
    cost = parser.apply_ui(ui, history is not None)
    messages = parser.messages
    if not messages:
        return ParseOutcome(chats=[], issues=issues)
    for message in messages:
        message.metadata.pop("index", None)
    model = next((m.model for m in reversed(messages) if m.model), None)
    if model is None:
        usage_models = [as_dict(u).get("model_id") for u in as_list(meta.get("model_usage"))]
        model = next((str(m) for m in reversed(usage_models) if m), None)
    if model is None:
        model = as_str(item.get("apiConfigName"))
    stamps = [as_int(u.get("ts")) for u in ui if as_int(u.get("ts"))]
    first_user = next((m.content for m in messages if m.role == "user"), None)
    metadata: dict[str, Any] = {}
    if cost:
        metadata["cost"] = round(cost, 6)
    environments = as_list(meta.get("environment_history"))
    if environments:
        last = as_dict(environments[-1])
        for key in ("cline_version", "host_name", "host_version", "os_name"):
            if key in last:
                metadata[key] = last[key]
    chat = ParsedChat(
        provider=provider,
        source_id=as_str(item.get("id")) or folder.name,
        messages=messages,
        title=title_from(as_str(item.get("task")) or first_user, 120),
        workspace_path=as_str(item.get("workspace")) or parser.cwd,
        created_at=to_utc(min(stamps)) if stamps else to_utc(item.get("ts")) or to_utc(folder.name),
        updated_at=to_utc(max(stamps)) if stamps else None,
        model=model,
        source_path=str(folder),
        metadata=metadata,
    )
    return ParseOutcome(chats=[chat], issues=issues)
