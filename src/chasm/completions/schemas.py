"""OpenAI's chat completions payloads (spec 001 ChatCompletionRequest / ChatCompletionResponse,
with the fields of OpenAI's API that clients send: tools, tool_calls, stream_options)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageURL(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=1, max_length=48 * 1024 * 1024, description="a data: URL or an http(s) URL")
    detail: Literal["auto", "low", "high"] | None = None


class ContentPart(BaseModel):
    """A content part: `text`, or `image_url` (in user messages)."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None
    image_url: ImageURL | None = None


class FunctionCall(BaseModel):
    name: str = Field(max_length=200)
    arguments: str = Field(default="", max_length=1_000_000)


class ToolCallIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(max_length=300)
    type: Literal["function"] = "function"
    function: FunctionCall


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=128)
    tool_call_id: str | None = Field(default=None, max_length=300)
    name: str | None = None


class FunctionSpec(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"] = "function"
    function: FunctionSpec


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request. Parameters Chasm does not forward (n, top_p, seed...) are accepted and
    ignored, as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        default="",
        max_length=300,
        description="`provider/model`, a provider's name, a bare model of the default provider, or ''",
    )
    messages: list[MessageIn] = Field(min_length=1, max_length=10_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[ToolIn] | None = Field(default=None, max_length=256)
    tool_choice: Any = Field(
        default=None,
        description='"auto", "none", "required" or {"type": "function", "function": {"name": ...}}, '
        "forwarded to the provider (to Anthropic as auto, none, any or tool)",
    )
    conversation_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="Append to the chat of this conversation (or header X-Chasm-Conversation-Id)",
    )


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class MessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


class Choice(BaseModel):
    index: int = 0
    message: MessageOut
    finish_reason: str | None


class PromptDetails(BaseModel):
    cached_tokens: int = 0


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetails


class ChasmInfo(BaseModel):
    """Where Chasm recorded the completion, and what it cost."""

    chat_id: uuid.UUID
    conversation_id: str
    provider: str
    cost_usd: float | None


class ChatCompletionResponse(BaseModel):
    model_config = ConfigDict(title="ChatCompletionResponse")

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    chasm: ChasmInfo
