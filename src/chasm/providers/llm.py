"""The model layer's vocabulary: messages, tool calls, usage, completions, stream events and the
`ChatModel` interface each provider implements. No I/O here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model produced it


@dataclass
class Image:
    """An image of a message: a `data:` URL (base64) or an http(s) URL, as OpenAI's `image_url`."""

    url: str
    detail: str | None = None  # OpenAI's "auto" | "low" | "high"

    @property
    def inline(self) -> bool:
        return self.url.startswith("data:")


@dataclass
class ChatMessage:
    role: Role
    content: str | None = None  # the text (of all text parts, joined)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # on role == "tool"
    # When the message holds images: its content in order, text pieces and images (`content`
    # still holds the text alone).
    parts: list[str | Image] | None = None


@dataclass(frozen=True)
class ToolChoice:
    """Which tools the model may or must call: "auto", "none" (no tool call), "required" (some
    tool), or "tool" (the one named)."""

    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass
class Completion:
    message: ChatMessage  # role "assistant"
    usage: Usage
    model: str
    finish_reason: str | None  # "stop" | "tool_calls" | "length" | ...
    cost_usd: float | None  # from chasm.chats.pricing when the model is priced


@dataclass
class TextDelta:
    """A piece of the assistant's text, in order."""

    text: str


@dataclass
class ToolCallDelta:
    """A piece of the `index`-th tool call: the first piece carries its id and name, the following
    ones carry fragments of its JSON arguments."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


# A stream yields text and tool-call deltas as they arrive, then exactly one final Completion.
StreamEvent = TextDelta | ToolCallDelta | Completion


@dataclass
class ModelInfo:
    """A model a provider offers (`GET /providers/{id}/models`)."""

    id: str
    name: str
    context_length: int | None = None
    capabilities: list[str] = field(default_factory=list)


class ChatModel(Protocol):
    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        tools: list[ToolSpec] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tool_choice: ToolChoice | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        tools: list[ToolSpec] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tool_choice: ToolChoice | None = None,
    ) -> AsyncIterator[StreamEvent]: ...
