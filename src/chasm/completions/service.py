"""Chat completions: the OpenAI request in the model layer's words, routed, answered (whole or as
SSE chunks in OpenAI's format), and recorded in the chat library."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor
from chasm.completions import recorder
from chasm.completions.content import content_of, tool_choice_of
from chasm.completions.routing import Route, route
from chasm.completions.schemas import (
    ChasmInfo,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    CompletionUsage,
    FunctionCall,
    MessageOut,
    PromptDetails,
    ToolCallOut,
)
from chasm.kit.errors import BadRequest, ChasmError
from chasm.providers.exceptions import ProviderError
from chasm.providers.llm import (
    ChatMessage,
    Completion,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    Usage,
)


def messages_of(body: ChatCompletionRequest, system_prompt: str | None) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for i, m in enumerate(body.messages):
        role = "system" if m.role == "developer" else m.role
        calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or ()]
        if role == "tool" and not m.tool_call_id:
            raise BadRequest(f"messages.{i}: a tool message needs its tool_call_id", code="validation_error")
        text, parts = content_of(m, i)
        out.append(ChatMessage(role, text, calls, m.tool_call_id, parts))  # type: ignore[arg-type]
    if system_prompt and not any(m.role == "system" for m in out):
        out.insert(0, ChatMessage("system", system_prompt))
    return out


def tools_of(body: ChatCompletionRequest) -> list[ToolSpec] | None:
    if not body.tools:
        return None
    return [ToolSpec(t.function.name, t.function.description, t.function.parameters) for t in body.tools]


@dataclass
class Prepared:
    """A request ready to send: where it goes, in the model layer's words, and its ids."""

    route: Route
    messages: list[ChatMessage]
    tools: list[ToolSpec] | None
    tool_choice: ToolChoice | None
    temperature: float | None
    max_tokens: int | None
    completion_id: str
    conversation_id: str
    created: int

    def call(self) -> dict[str, Any]:
        return {
            "model": self.route.model,
            "tools": self.tools,
            "tool_choice": self.tool_choice,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


async def prepare(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    body: ChatCompletionRequest,
    conversation: str | None,
) -> Prepared:
    async with maker() as db:
        target = await route(db, actor, body.model)
    tools = tools_of(body)
    completion_id = "chatcmpl-" + secrets.token_hex(12)
    conversation_id = (conversation or body.conversation_id or "").strip() or completion_id
    if len(conversation_id) > 300:
        raise BadRequest("The conversation id is longer than 300 characters", code="validation_error")
    return Prepared(
        route=target,
        messages=messages_of(body, target.system_prompt),
        tools=tools,
        tool_choice=tool_choice_of(body.tool_choice, [t.name for t in tools or ()]),
        temperature=body.temperature if body.temperature is not None else target.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        completion_id=completion_id,
        conversation_id=conversation_id,
        created=int(time.time()),
    )


def _usage(usage: Usage) -> CompletionUsage:
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    return CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=usage.output_tokens,
        total_tokens=prompt + usage.output_tokens,
        prompt_tokens_details=PromptDetails(cached_tokens=usage.cache_read_tokens),
    )


async def complete(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    body: ChatCompletionRequest,
    conversation: str | None,
) -> ChatCompletionResponse:
    p = await prepare(maker, actor, body, conversation)
    answer = await p.route.chat.complete(p.messages, **p.call())
    stored = await recorder.record(
        maker, actor, p.conversation_id, p.completion_id, p.messages, answer, p.route.provider
    )
    calls = [
        ToolCallOut(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in answer.message.tool_calls
    ]
    return ChatCompletionResponse(
        id=p.completion_id,
        created=p.created,
        model=p.route.model,
        choices=[
            Choice(
                message=MessageOut(content=answer.message.content, tool_calls=calls or None),
                finish_reason=answer.finish_reason,
            )
        ],
        usage=_usage(answer.usage),
        chasm=ChasmInfo(
            chat_id=stored.chat_id,
            conversation_id=stored.conversation_id,
            provider=p.route.provider,
            cost_usd=answer.cost_usd,
        ),
    )


# Streaming: OpenAI's chunk format, `data: {...}` frames ending with `data: [DONE]`

DONE = b"data: [DONE]\n\n"


def _frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class ChunkWriter:
    def __init__(self, p: Prepared) -> None:
        self.head = {
            "id": p.completion_id,
            "object": "chat.completion.chunk",
            "created": p.created,
            "model": p.route.model,
        }

    def delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _frame({**self.head, "choices": [choice]})

    def usage(self, usage: Usage, extra: dict[str, Any]) -> bytes:
        return _frame({**self.head, "choices": [], "usage": _usage(usage).model_dump(), **extra})


def _tool_delta(event: ToolCallDelta) -> dict[str, Any]:
    call: dict[str, Any] = {"index": event.index}
    function: dict[str, Any] = {"arguments": event.arguments}
    if event.id is not None:
        call["id"], call["type"] = event.id, "function"
    if event.name is not None:
        function["name"] = event.name
    call["function"] = function
    return {"tool_calls": [call]}


async def open_stream(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    body: ChatCompletionRequest,
    conversation: str | None,
) -> tuple[Prepared, AsyncIterator[bytes]]:
    """The stream's frames. The provider's first event is awaited here, so a provider refusing the
    request (429, 5xx, bad model) is the endpoint's error status, not a broken stream."""
    p = await prepare(maker, actor, body, conversation)
    events = p.route.chat.stream(p.messages, **p.call())
    try:
        first = await anext(events)
    except StopAsyncIteration:
        raise ProviderError(f"Provider '{p.route.provider}': the stream ended before any answer") from None
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return p, _frames(maker, actor, p, first, events, include_usage)


async def _frames(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    p: Prepared,
    first: Any,
    events: AsyncIterator[Any],
    include_usage: bool,
) -> AsyncIterator[bytes]:
    out = ChunkWriter(p)
    yield out.delta({"role": "assistant", "content": ""})
    event = first
    try:
        while True:
            if isinstance(event, TextDelta):
                yield out.delta({"content": event.text})
            elif isinstance(event, ToolCallDelta):
                yield out.delta(_tool_delta(event))
            elif isinstance(event, Completion):
                yield out.delta({}, event.finish_reason or "stop")
                stored = await recorder.record(
                    maker, actor, p.conversation_id, p.completion_id, p.messages, event, p.route.provider
                )
                if include_usage:
                    info: dict[str, Any] = {"chat_id": str(stored.chat_id)}
                    info["conversation_id"] = stored.conversation_id
                    info |= {"provider": p.route.provider, "cost_usd": event.cost_usd}
                    yield out.usage(event.usage, {"chasm": info})
                yield DONE
                return
            event = await anext(events, None)
            if event is None:
                raise ProviderError(f"Provider '{p.route.provider}': the stream ended before its answer")
    except ChasmError as error:  # the provider failed mid-stream: OpenAI's error event, then the end
        yield _frame({"error": {"message": error.message, "type": "server_error", "code": error.code}})
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
