"""The model layer over the real SDKs against the fake APIs: Anthropic plain, streamed and tool
calls; provider errors mapped to clear types; `resolve` routing by provider name and default."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from provider_helpers import make_provider

from chasm.auth.actor import Actor
from chasm.kit.errors import ChasmError
from chasm.models import Account
from chasm.providers import service
from chasm.providers.exceptions import (
    ContextTooLong,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    UnknownModel,
    UnknownProvider,
)
from chasm.providers.llm import ChatMessage, Completion, TextDelta, ToolCall, ToolCallDelta, ToolSpec
from fakes.llm_server import FakeLLM, Reply

TERMINAL = ToolSpec(
    name="terminal",
    description="Run a shell command",
    parameters={"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
)


async def _actor(app: FastAPI) -> Actor:
    async with app.state.sessionmaker() as db:
        account = (await db.execute(Account.__table__.select().limit(1))).first()
        assert account is not None
        return Actor("user", uuid.uuid4(), await db.get(Account, account.id), "owner", None)  # type: ignore[arg-type]


async def _resolve(app: FastAPI, spec: str | None) -> tuple[Any, str]:
    actor = await _actor(app)
    async with app.state.sessionmaker() as db:
        return await service.resolve(db, actor, spec)


async def test_anthropic_plain_stream_and_tool_call(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await make_provider(client, fake_llm, kind="anthropic", default_model="claude-sonnet-4-5")
    model, name = await _resolve(app, "anthropic")
    assert name == "claude-sonnet-4-5"
    fake_llm.script(
        [
            Reply(
                text="Paris.", input_tokens=12, output_tokens=2, cache_read_tokens=100, cache_write_tokens=7
            ),
            Reply(text="The answer is 42"),
            Reply(text="Let me look.", tool_calls=[("terminal", {"command": "ls"})]),
        ]
    )
    chat = [ChatMessage("system", "Be brief."), ChatMessage("user", "Capital of France?")]
    done = await model.complete(chat, model=name, temperature=1.5)
    assert done.message.content == "Paris." and done.finish_reason == "stop"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (12, 2)
    assert (done.usage.cache_read_tokens, done.usage.cache_write_tokens) == (100, 7)
    assert done.cost_usd is not None and done.cost_usd > 0  # claude-sonnet-4-5 is priced
    sent = fake_llm.completions[-1].body
    assert sent is not None and sent["system"] == "Be brief." and "temperature" not in sent
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]}]

    events = [e async for e in model.stream(chat, model=name)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "The answer is 42"
    final = events[-1]
    assert isinstance(final, Completion) and final.message.content == "The answer is 42"
    assert final.usage.output_tokens == 4

    events = [e async for e in model.stream(chat, model=name, tools=[TERMINAL])]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "terminal" and "".join(d.arguments for d in deltas) == '{"command": "ls"}'
    final = events[-1]
    assert isinstance(final, Completion) and final.finish_reason == "tool_calls"
    [call] = final.message.tool_calls
    assert call.name == "terminal" and json.loads(call.arguments) == {"command": "ls"}
    assert fake_llm.completions[-1].body["tools"][0]["input_schema"] == TERMINAL.parameters  # type: ignore[index]

    # The tool's result goes back as a user turn of tool_result blocks; a plain (non-streamed) call
    # answers the same tool call.
    fake_llm.script(
        [Reply(tool_calls=[{"id": "toolu_1", "name": "terminal", "arguments": {"command": "pwd"}}])]
    )
    asked = await model.complete(chat, model=name, tools=[TERMINAL])
    assert asked.message.tool_calls == [ToolCall("toolu_1", "terminal", '{"command": "pwd"}')]
    assert asked.message.content is None and asked.finish_reason == "tool_calls"
    follow = [*chat, asked.message, ChatMessage("tool", "/work", tool_call_id="toolu_1")]
    fake_llm.script([Reply(text="You are in /work.")])
    assert (await model.complete(follow, model=name)).message.content == "You are in /work."
    turns = fake_llm.completions[-1].body["messages"]  # type: ignore[index]
    assert turns[1]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "terminal",
        "input": {"command": "pwd"},
    }
    assert turns[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "/work"}],
    }


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (Reply(status=429, message="Rate limit reached for gpt-4o"), ProviderRateLimited, "rate limited"),
        (Reply(status=500, message="boom"), ProviderUnavailable, "server error (500)"),
        (Reply(status=529), ProviderUnavailable, "overloaded"),
        (
            Reply(
                status=400,
                message="This model's maximum context length is 128000 tokens",
                error_code="context_length_exceeded",
            ),
            ContextTooLong,
            "context window",
        ),
        (Reply(status=400, message="temperature out of range"), ChasmError, "request refused"),
        (Reply(status=404, message="The model `nope` does not exist"), UnknownModel, "does not exist"),
        (Reply(status=200, raw=b"<html>not json</html>"), ProviderError, "Provider 'custom'"),
    ],
)
async def test_provider_errors_are_clear_types(
    app: FastAPI,
    client: httpx.AsyncClient,
    fake_llm: FakeLLM,
    reply: Reply,
    error: type[Exception],
    words: str,
) -> None:
    await make_provider(client, fake_llm, default_model="gpt-4o")
    model, name = await _resolve(app, None)
    fake_llm.script([reply] * 2)  # the SDK retries 429 and 5xx (once, by the test's settings)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        await model.complete([ChatMessage("user", "hi")], model=name)
    retried = reply.status == 429 or reply.status >= 500
    assert len(fake_llm.completions) == (2 if retried else 1)


async def test_resolve_routes_by_provider_name_bare_model_and_default(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    with pytest.raises(UnknownProvider):
        await _resolve(app, None)
    await make_provider(client, fake_llm, name="main", default_model="gpt-4o-mini")
    await make_provider(client, fake_llm, kind="anthropic", name="claude")
    assert (await _resolve(app, None))[1] == "gpt-4o-mini"
    assert (await _resolve(app, "gpt-4o"))[1] == "gpt-4o"
    assert (await _resolve(app, "meta-llama/Llama-3-8B"))[1] == "meta-llama/Llama-3-8B"  # not a provider
    model, name = await _resolve(app, "claude/claude-haiku-4-5")
    assert name == "claude-haiku-4-5" and type(model).__name__ == "AnthropicChat"
    with pytest.raises(UnknownModel):
        await _resolve(app, "claude")  # no default model: name one
    with pytest.raises(UnknownModel, match="claude/MODEL"):
        await _resolve(app, "claude/")


async def test_anthropic_stream_error_event_is_a_provider_error(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await make_provider(client, fake_llm, kind="anthropic", default_model="claude-haiku-4-5")
    model, name = await _resolve(app, None)
    fake_llm.script([Reply(text="a b c", fail_after=1, message="Overloaded")])
    seen: list[Any] = []
    with pytest.raises(ProviderError, match="the stream failed: Overloaded"):
        async for event in model.stream([ChatMessage("user", "hi")], model=name):
            seen.append(event)
    assert seen == [TextDelta("a")]


@pytest.mark.parametrize("kind", ["custom", "anthropic"])
async def test_streams_read_to_their_end_keep_the_connection(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM, kind: str
) -> None:
    """A stream is read to the end of its body, so the next request reuses the connection (a
    connection closed unread costs the next request a new one and the provider sees a reset)."""
    await make_provider(client, fake_llm, kind=kind, default_model="gpt-4o-mini")
    model, name = await _resolve(app, kind)
    opened = fake_llm.connections_opened
    for word in ("one", "two", "three"):
        fake_llm.script([Reply(text=f"answer {word}")])
        events = [e async for e in model.stream([ChatMessage("user", "hi")], model=name)]
        assert isinstance(events[-1], Completion) and events[-1].message.content == f"answer {word}"
    assert fake_llm.connections_opened - opened == 1
