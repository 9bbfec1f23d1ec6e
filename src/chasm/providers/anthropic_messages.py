"""`ChatModel` over the official `anthropic` SDK (the Messages API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from chasm.providers import sse
from chasm.providers.errors import SDK_ERRORS, STREAM_ERRORS, stream_error, translate
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
from chasm.providers.openai_compat import priced

# Anthropic's stop reasons in OpenAI's words (what the completions API and agents speak).
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def _input(arguments: str) -> Any:
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"input": arguments}


def image_block(image: Image) -> dict[str, Any]:
    """An image block: a `data:` URL's bytes as a base64 source, an http(s) URL as a url source."""
    if image.inline:
        header, _, data = image.url.partition(",")
        media_type = header[len("data:") :].split(";", 1)[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": image.url}}


def wire_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    """OpenAI's tool_choice in Anthropic's words: auto, none, any (required), tool (named)."""
    if choice.mode == "tool":
        return {"type": "tool", "name": choice.name}
    return {"type": "any" if choice.mode == "required" else choice.mode}


def wire(messages: list[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system prompt, messages): system messages go apart; tool results are user turns of
    `tool_result` blocks; consecutive turns of one role become one (the API wants them alternate)."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if m.role == "tool":
            role = "user"
            result = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content or ""}
            blocks.append(result)
        else:
            role = m.role
            if m.parts is not None:
                for part in m.parts:
                    if isinstance(part, Image):
                        blocks.append(image_block(part))
                    elif part:
                        blocks.append({"type": "text", "text": part})
            elif m.content:
                blocks.append({"type": "text", "text": m.content})
            for call in m.tool_calls:
                blocks.append(
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
                )
        if not blocks:
            blocks.append({"type": "text", "text": ""})
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return ("\n\n".join(system) or None), out


def usage_of(raw: Any, output_tokens: int | None = None) -> Usage:
    """(`raw`: the SDK's model, or a streamed event's JSON.)"""

    def get(key: str) -> int:
        value = raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)
        return int(value or 0)

    return Usage(
        input_tokens=get("input_tokens"),
        output_tokens=int(output_tokens) if output_tokens is not None else get("output_tokens"),
        cache_read_tokens=get("cache_read_input_tokens"),
        cache_write_tokens=get("cache_creation_input_tokens"),
    )


class AnthropicChat:
    def __init__(self, client: anthropic.AsyncAnthropic, provider: str, *, default_max_tokens: int) -> None:
        self.client = client
        self.provider = provider
        self.default_max_tokens = default_max_tokens  # the API requires a limit

    def _params(
        self,
        messages: list[ChatMessage],
        model: str,
        tools: list[ToolSpec] | None,
        temperature: float | None,
        max_tokens: int | None,
        tool_choice: ToolChoice | None,
    ) -> dict[str, Any]:
        system, wired = wire(messages)
        params: dict[str, Any] = {
            "model": model,
            "messages": wired,
            "max_tokens": max_tokens or self.default_max_tokens,
        }
        if system:
            params["system"] = system
        if tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
            if tool_choice is not None:
                params["tool_choice"] = wire_tool_choice(tool_choice)
        # `temperature` is not sent: the Messages API of the SDK in use has no such parameter.
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
            response = await self.client.messages.create(**params)
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input)))
        content = "".join(text) if text or not calls else None
        message = ChatMessage(role="assistant", content=content, tool_calls=calls)
        finish = FINISH.get(response.stop_reason or "", response.stop_reason)
        return priced(message, usage_of(response.usage), response.model or model, finish)

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
        text: list[str] = []
        calls: list[ToolCall] = []
        call_of_block: dict[int, int] = {}  # content block index -> tool call index
        start_usage: Any = None
        output_tokens: int | None = None
        finish: str | None = None
        served = model
        try:
            response = await sse.open_stream(self.client, "/v1/messages", {**params, "stream": True})
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc
        events = sse.events(response.aiter_lines())
        ended = False
        try:
            async for _, data in events:
                event = sse.payload(data)
                kind = event.get("type")
                if kind == "message_start":
                    message = event.get("message") or {}
                    served = message.get("model") or served
                    start_usage = message.get("usage") or {}
                elif kind == "content_block_start":
                    block = event.get("content_block") or {}
                    if block.get("type") == "tool_use":
                        call_of_block[event.get("index", 0)] = len(calls)
                        calls.append(
                            ToolCall(id=block.get("id", ""), name=block.get("name", ""), arguments="")
                        )
                        yield ToolCallDelta(index=len(calls) - 1, id=block.get("id"), name=block.get("name"))
                elif kind == "content_block_delta":
                    delta = event.get("delta") or {}
                    if delta.get("type") == "text_delta":
                        text.append(delta.get("text", ""))
                        yield TextDelta(delta.get("text", ""))
                    elif delta.get("type") == "input_json_delta" and event.get("index") in call_of_block:
                        index = call_of_block[event["index"]]
                        calls[index].arguments += delta.get("partial_json", "")
                        yield ToolCallDelta(index=index, arguments=delta.get("partial_json", ""))
                elif kind == "message_delta":
                    stop = (event.get("delta") or {}).get("stop_reason")
                    finish = FINISH.get(stop or "", stop)
                    output_tokens = (event.get("usage") or {}).get("output_tokens")
                elif kind == "error":
                    raise stream_error(self.provider, event)
                elif kind == "message_stop":
                    ended = True
                    break
            if ended:
                await sse.drain(events)
        except STREAM_ERRORS as exc:
            raise self._error(exc) from exc
        finally:
            await response.aclose()
        for call in calls:
            call.arguments = call.arguments or "{}"
        content = "".join(text) if text or not calls else None
        message = ChatMessage(role="assistant", content=content, tool_calls=calls)
        yield priced(message, usage_of(start_usage, output_tokens), served, finish)

    async def list_models(self) -> list[ModelInfo]:
        try:
            return [ModelInfo(id=m.id, name=m.display_name or m.id) async for m in self.client.models.list()]
        except SDK_ERRORS as exc:
            raise self._error(exc) from exc

    async def aclose(self) -> None:
        await self.client.close()
