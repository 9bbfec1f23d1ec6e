"""Content blocks: Anthropic's `[{type: text|thinking|tool_use|tool_result|image…}]` (Claude Code,
Droid, Amp, claude.ai, Cline, Cursor, Continue), with the AI SDK's names (`tool-call`,
`tool-result`, `reasoning`) and OpenAI's `input_text`/`output_text`, sorted into what a message
shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chasm.harvest.model import ToolCall
from chasm.harvest.sources.toolkit.coercion import as_str, parse_arguments, text_of, to_json_text

_TEXT_KINDS = frozenset(("text", "input_text", "output_text"))
_THINKING_KINDS = frozenset(("thinking", "reasoning", "redacted_thinking"))
_CALL_KINDS = frozenset(("tool_use", "server_tool_use", "tool-call"))


@dataclass
class Blocks:
    """What a list of content blocks holds."""

    texts: list[str] = field(default_factory=list)  # every text, in order
    thinking: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    results: list[tuple[str | None, str, bool]] = field(default_factory=list)  # (tool_use_id, output, error)
    images: int = 0
    text: str = ""  # the texts that are not blank, joined by blank lines (a plain string: as it is)


def read_blocks(content: Any) -> Blocks:
    """The blocks of a message's `content` (a list of blocks, or a plain string)."""
    texts: list[str] = []
    out = Blocks(texts, [], [], [])
    if isinstance(content, str):
        texts.append(content)
        out.text = content
        return out
    if not isinstance(content, list):
        return out
    for block in content:
        if not isinstance(block, dict):
            if isinstance(block, str):
                texts.append(block)
            continue
        kind = block.get("type")
        if kind in _TEXT_KINDS:
            text = block.get("text")
            if isinstance(text, str):
                texts.append(text)
        elif kind in _THINKING_KINDS:
            thought = block.get("thinking") if kind == "thinking" else block.get("text")
            if isinstance(thought, str) and thought:
                out.thinking.append(thought)
        elif kind in _CALL_KINDS:
            raw_input = block["input"] if "input" in block else block.get("args")
            out.tool_calls.append(
                ToolCall(
                    name=as_str(block.get("name")) or as_str(block.get("toolName")) or "tool",
                    id=as_str(block.get("id")) or as_str(block.get("toolCallId")),
                    input=parse_arguments(raw_input),
                )
            )
        elif (
            kind == "tool_result"
            or kind == "tool-result"
            or (isinstance(kind, str) and kind.endswith("_tool_result"))
        ):
            tool_id = (
                as_str(block.get("tool_use_id"))
                or as_str(block.get("toolUseID"))
                or as_str(block.get("toolCallId"))
            )
            body = block["content"] if "content" in block else block.get("result", block.get("output"))
            if body is None and "run" in block:
                body = _amp_run_output(block.get("run"))
            out.results.append(
                (tool_id, body if isinstance(body, str) else text_of(body), bool(block.get("is_error")))
            )
        elif kind == "image":
            out.images += 1
    if texts:
        out.text = (
            texts[0] if len(texts) == 1 and texts[0].strip() else "\n\n".join(t for t in texts if t.strip())
        )
    return out


def _amp_run_output(run: Any) -> str:
    """The output of an Amp tool run (`{"result": …}` or `{"error": …}`)."""
    if not isinstance(run, dict):
        return ""
    result = run.get("result")
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for key in ("output", "content", "text"):
            if isinstance(result.get(key), str):
                return str(result[key])
        return to_json_text(result)
    if result is not None:
        return to_json_text(result)
    error = run.get("error")
    return text_of(error) if error else ""
