"""`ChatModel` over the official `openai` SDK: OpenAI itself and every server speaking its chat
completions API (Ollama, LM Studio, vLLM, llama.cpp, any base URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai

from chasm.chats.pricing import estimate_cost
from chasm.providers import sse
from chasm.providers.errors import SDK_ERRORS, STREAM_ERRORS, garbage, stream_error, translate
from chasm.providers.llm import (
    ChatMessage,
    Completion,
    Image,
    ModelInfo,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    Usage,
)


def wire_parts(parts: list[str | Image]) -> list[dict[str, Any]]:
    """A message's text and images as OpenAI's content parts (the images as they came)."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Image):
            image: dict[str, Any] = {"url": part.url}
            if part.detail:
                image["detail"] = part.detail
            out.append({"type": "image_url", "image_url": image})
        else:
            out.append({"type": "text", "text": part})
    return out


def wire_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def wire_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.parts is not None:
            item["content"] = wire_parts(m.parts)
        if m.role == "assistant" and m.tool_calls:
            item["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
        elif m.role == "tool":
            item["tool_call_id"] = m.tool_call_id or ""
            item["content"] = m.content or ""
        elif m.content is None:
            item["content"] = ""
        out.append(item)
    return out


def wire_tools(tools: list[ToolSpec] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else getattr(value, key, None)


def usage_of(raw: Any) -> Usage:
    """OpenAI counts cached prompt tokens inside `prompt_tokens`; Chasm keeps them apart. (`raw`:
    the SDK's model, or a streamed chunk's JSON.)"""
    if raw is None:
        return Usage()
    cached = int(_get(_get(raw, "prompt_tokens_details"), "cached_tokens") or 0)
    prompt = int(_get(raw, "prompt_tokens") or 0)
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=int(_get(raw, "completion_tokens") or 0),
        cache_read_tokens=cached,
    )


def priced(message: ChatMessage, usage: Usage, model: str, finish: str | None) -> Completion:
    cost = estimate_cost(
        model, usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    )
    return Completion(message=message, usage=usage, model=model, finish_reason=finish, cost_usd=cost)


class OpenAIChat:
    """One configured provider's client (the SDK's connection pool is reused across requests)."""

    def __init__(self, client: openai.AsyncOpenAI, provider: str, *, max_completion_tokens: bool) -> None:
        self.client = client
        self.provider = provider
        # OpenAI's own API names the output limit `max_completion_tokens` (its reasoning models
        # refuse `max_tokens`); compatible servers know `max_tokens`.
        self._limit_field = "max_completion_tokens" if max_completion_tokens else "max_tokens"

    def _params(
        self,
        messages: list[ChatMessage],
        model: str,
        tools: list[ToolSpec] | None,
        temperature: float | None,
        max_tokens: int | None,
        tool_choice: ToolChoice | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"model": model, "messages": wire_messages(messages)}
        wired = wire_tools(tools)
        if wired:
            params["tools"] = wired
            if tool_choice is not None:
                params["tool_choice"] = wire_tool_choice(tool_choice)
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params[self._limit_field] = max_tokens
        return params

    def _error(self, exc: Exception) -> Exception:
        return translate(exc, self.provider, self.client.api_key)

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        tools: list[ToolSpec] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tool_choice: ToolChoice | None = None,
    ) -> Completion:
        params = self._params(messages, model, tools, temperature, max_tokens, tool_choice)
        try:
            response = await self.client.chat.completions.create(**params)
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc
        if not getattr(response, "choices", None):
            raise garbage(self.provider, "no choices")
        choice = response.choices[0]
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
            for c in (choice.message.tool_calls or [])
            if getattr(c, "function", None) is not None
        ]
        message = ChatMessage(role="assistant", content=choice.message.content, tool_calls=calls)
        return priced(message, usage_of(response.usage), response.model or model, choice.finish_reason)

    async def stream(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        tools: list[ToolSpec] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tool_choice: ToolChoice | None = None,
    ) -> AsyncIterator[StreamEvent]:
        params = self._params(messages, model, tools, temperature, max_tokens, tool_choice)
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        text: list[str] = []
        calls: dict[int, ToolCall] = {}
        usage = Usage()
        finish: str | None = None
        served = model
        try:
            response = await sse.open_stream(self.client, "/chat/completions", params)
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc
        events = sse.events(response.aiter_lines())
        ended = False
        try:
            async for _, data in events:
                if data == "[DONE]":
                    ended = True
                    break
                chunk = sse.payload(data)
                if "error" in chunk:
                    raise stream_error(self.provider, chunk)
                served = chunk.get("model") or served
                if chunk.get("usage"):
                    usage = usage_of(chunk["usage"])
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        text.append(delta["content"])
                        yield TextDelta(delta["content"])
                    for tc in delta.get("tool_calls") or ():
                        index = int(tc.get("index") or 0)
                        fn = tc.get("function") or {}
                        name, args, call_id = fn.get("name"), fn.get("arguments") or "", tc.get("id")
                        call = calls.get(index)
                        if call is None:
                            call = calls[index] = ToolCall(
                                id=call_id or f"call_{index}", name=name or "", arguments=""
                            )
                        elif name and not call.name:
                            call.name = name
                        call.arguments += args
                        yield ToolCallDelta(index=index, id=call_id, name=name, arguments=args)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            if ended:
                await sse.drain(events)
        except STREAM_ERRORS as exc:
            raise self._error(exc) from exc
        finally:
            await response.aclose()
        message = ChatMessage(
            role="assistant",
            content="".join(text) if text or not calls else None,
            tool_calls=[calls[i] for i in sorted(calls)],
        )
        yield priced(message, usage, served, finish)

    async def list_models(self) -> list[ModelInfo]:
        try:
            return [ModelInfo(id=m.id, name=m.id) async for m in self.client.models.list()]
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc

    async def aclose(self) -> None:
        await self.client.close()
