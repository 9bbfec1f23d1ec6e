"""The context of a continued chat: its transcript as text, and, when that is longer than the
model's window allows, its beginning and its most recent part kept word for word and the middle
summarised by the model (one completion through the same provider). When the summary cannot be
had (the provider refuses or fails), the middle is left out and the context says so."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from chasm.kit.errors import ChasmError
from chasm.models import ChatMessage
from chasm.providers.llm import ChatMessage as LLMMessage
from chasm.providers.llm import ChatModel

log = logging.getLogger("chasm.agents")

# A budget in characters (about four per token) that fits the context windows of current models
# with room for the agent's work: the transcript's beginning and its most recent part.
CONTEXT_MAX_CHARS = 60_000
CONTEXT_HEAD_CHARS = 12_000
MESSAGE_MAX_CHARS = 4_000
# The middle given to the summariser (cut in its own middle beyond this), and its answer's length.
SUMMARY_INPUT_MAX_CHARS = 200_000
SUMMARY_MAX_TOKENS = 2_000
SUMMARY_INSTRUCTION = (
    "You summarise the middle part of a conversation between a user and an AI coding assistant, so "
    "that another assistant can carry on the work. Keep what matters for going on: the user's goals "
    "and requests, decisions taken, files, commands and errors involved, what was done and what is "
    "left. Be factual and concise; answer with the summary alone."
)


def _line(message: ChatMessage) -> str:
    text = (message.content or "").strip()
    for call in message.tool_calls or []:
        args = json.dumps(call.get("input"), ensure_ascii=False, default=str)[:300]
        text += f"\n(tool call {call.get('name')}: {args})"
    if len(text) > MESSAGE_MAX_CHARS:
        text = text[:MESSAGE_MAX_CHARS] + " [...]"
    return f"[{message.role}] {text}" if text else ""


def transcript_lines(messages: list[ChatMessage]) -> list[str]:
    return [line for line in (_line(m) for m in messages) if line]


def _split(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(head, middle, tail): whole messages, the head within CONTEXT_HEAD_CHARS, the tail within
    what is left of CONTEXT_MAX_CHARS (each keeps at least one message)."""
    head: list[str] = []
    used = 0
    for line in lines:
        if head and used + len(line) > CONTEXT_HEAD_CHARS:
            break
        head.append(line)
        used += len(line) + 2
    tail: list[str] = []
    room = CONTEXT_MAX_CHARS - used
    for line in reversed(lines[len(head) :]):
        if tail and len(line) > room:
            break
        tail.insert(0, line)
        room -= len(line) + 2
    return head, lines[len(head) : len(lines) - len(tail)], tail


@dataclass
class Context:
    text: str
    mode: str  # "whole" | "summarised" | "cut" (the summary failed: the middle is left out)
    facts: dict[str, Any] = field(default_factory=dict)  # kept in the fork's metadata


def _middle_text(middle: list[str]) -> str:
    text = "\n\n".join(middle)
    if len(text) <= SUMMARY_INPUT_MAX_CHARS:
        return text
    half = SUMMARY_INPUT_MAX_CHARS // 2
    return f"{text[:half]}\n\n[... {len(text) - 2 * half} characters not shown ...]\n\n{text[-half:]}"


async def build(model: ChatModel, model_name: str, messages: list[ChatMessage]) -> Context:
    """The transcript as the continuing agent's context (see the module's doc)."""
    lines = transcript_lines(messages)
    whole = "\n\n".join(lines)
    if len(whole) <= CONTEXT_MAX_CHARS:
        return Context(whole, "whole")
    head, middle, tail = _split(lines)
    dropped = sum(len(line) for line in middle)
    facts: dict[str, Any] = {"messages": len(lines), "middle_messages": len(middle), "middle_chars": dropped}
    ask = [
        LLMMessage("system", SUMMARY_INSTRUCTION),
        LLMMessage("user", _middle_text(middle)),
    ]
    try:
        summary = await model.complete(ask, model=model_name, max_tokens=SUMMARY_MAX_TOKENS)
        text = (summary.message.content or "").strip()
        if not text:
            raise ChasmError("the model answered an empty summary", code="empty_summary")
    except ChasmError as exc:
        log.warning("continuation: summarising %d messages failed: %s", len(middle), exc.message)
        note = (
            f"[... {len(middle)} messages ({dropped} characters) of the conversation are left out here: "
            f"summarising them failed ({exc.code}: {exc.message}) ...]"
        )
        body = "\n\n".join([*head, note, *tail])
        return Context(body, "cut", {**facts, "error": f"{exc.code}: {exc.message}"})
    usage = summary.usage
    facts |= {
        "model": summary.model,
        "input_tokens": usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": summary.cost_usd,
    }
    said = f"[Summary of the {len(middle)} messages in between, written by {summary.model}:]"
    note = f"{said}\n{text}\n[End of summary]"
    return Context("\n\n".join([*head, note, *tail]), "summarised", facts)
