"""The official openai SDK, unchanged, pointed at Chasm's /api/v1: plain, streamed and tool-calling
completions through a provider, each recorded as a searchable chat of the library; provider
errors reach the SDK as its own exception classes with Chasm's message."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from fakes.llm_server import FakeLLM, Reply
from sessions.fixtures import LiveServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def sdk(live: LiveServer, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=live.url + "/api/v1", api_key=key, max_retries=0)


async def search(admin: httpx.AsyncClient, word: str) -> list[dict[str, Any]]:
    r = await admin.get("/api/v1/search/messages", params={"q": word})
    assert r.status_code == 200, r.text
    hits: list[dict[str, Any]] = r.json()["messages"]
    return hits


async def test_async_sdk_plain_completion_is_a_searchable_chat(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    fake_llm.script(
        [Reply(text="Quokkas are marsupials.", input_tokens=20, output_tokens=5, cache_read_tokens=4)]
    )
    client = sdk(live, admin_key)
    response = await client.chat.completions.create(
        model="",  # the default provider's default model
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is a quokka?"},
        ],
        temperature=0.2,
    )
    assert response.choices[0].message.content == "Quokkas are marsupials."
    assert response.choices[0].finish_reason == "stop" and response.object == "chat.completion"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (24, 5)
    sent = fake_llm.completions[-1].body
    assert sent is not None and sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.2

    info = response.to_dict()["chasm"]  # type: ignore[typeddict-item]
    assert info["provider"] == "fake" and info["cost_usd"] > 0  # gpt-4o-mini is priced
    chat = (await admin.get(f"/api/v1/sessions/{info['chat_id']}")).json()
    assert chat["provider"] == "chasm" and chat["title"] == "What is a quokka?"
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]
    answer = chat["messages"][-1]
    assert answer["model"] == "gpt-4o-mini"
    assert (await admin.get(f"/api/sessions/{info['chat_id']}")).json()["data"]["usage"] == {
        "input_tokens": 20,
        "output_tokens": 5,
        "cache_read_tokens": 4,
        "cache_write_tokens": 0,
    }
    hits = await search(admin, "marsupials")  # searchable as soon as the answer came back
    assert [h["session_id"] for h in hits] == [info["chat_id"]]
    await client.close()


async def test_sync_sdk_streams_and_tool_calls(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    fake_llm.script(
        [
            Reply(text="Streaming numbats dig termites"),
            Reply(tool_calls=[("get_weather", {"city": "Perth"})]),
            Reply(
                text="Checking.",
                tool_calls=[{"id": "call_w", "name": "get_weather", "arguments": {"city": "Oslo"}}],
            ),
        ]
    )
    client = openai.OpenAI(base_url=live.url + "/api/v1", api_key=admin_key, max_retries=0)
    ask = [{"role": "user", "content": "Tell me about numbats"}]

    def stream() -> list[Any]:
        chunks = client.chat.completions.create(
            model="fake/gpt-4o",
            messages=ask,
            stream=True,
            stream_options={"include_usage": True},  # type: ignore[arg-type]
        )
        return list(chunks)

    chunks = await asyncio.to_thread(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streaming numbats dig termites"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert fake_llm.completions[-1].body["model"] == "gpt-4o"  # type: ignore[index]
    chat_id = chunks[-1].to_dict()["chasm"]["chat_id"]  # type: ignore[typeddict-item]
    assert [h["session_id"] for h in await search(admin, "termites")] == [chat_id]

    def tool_call() -> Any:
        return client.chat.completions.create(
            model="fake/gpt-4o",
            messages=[{"role": "user", "content": "Weather in Perth?"}],
            tools=[WEATHER],  # type: ignore[list-item]
        )

    response = await asyncio.to_thread(tool_call)
    [call] = response.choices[0].message.tool_calls  # type: ignore[misc]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Perth"}  # type: ignore[union-attr]
    assert response.choices[0].finish_reason == "tool_calls"
    assert fake_llm.completions[-1].body["tools"] == [WEATHER]  # type: ignore[index]

    def streamed_tool_call() -> list[Any]:
        chunks = client.chat.completions.create(
            model="fake/gpt-4o",
            messages=[{"role": "user", "content": "And Oslo?"}],
            tools=[WEATHER],
            stream=True,  # type: ignore[list-item]
        )
        return list(chunks)

    chunks = await asyncio.to_thread(streamed_tool_call)
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "call_w" and calls[0].function.name == "get_weather"
    assert json.loads("".join(tc.function.arguments or "" for tc in calls)) == {"city": "Oslo"}
    chats = (await admin.get("/api/v1/sessions", params={"provider": "chasm"})).json()
    assert chats["total"] == 3 and sum(c["message_count"] for c in chats["sessions"]) == 6
    hits = await search(admin, "get_weather")  # the tool call is indexed with its chat
    assert hits
    client.close()


async def test_a_conversation_id_appends_to_one_chat(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    fake_llm.script([Reply(text="Hi Ann."), Reply(text="Your name is Ann.")])
    client = sdk(live, admin_key)
    first = [{"role": "user", "content": "I am Ann."}]
    one = await client.chat.completions.create(
        model="fake",
        messages=first,
        extra_headers={"X-Chasm-Conversation-Id": "conv-ann"},  # type: ignore[arg-type]
    )
    history = [*first, {"role": "assistant", "content": "Hi Ann."}, {"role": "user", "content": "Who am I?"}]
    two = await client.chat.completions.create(
        model="fake",
        messages=history,
        extra_body={"conversation_id": "conv-ann"},  # type: ignore[arg-type]
    )
    chat_id = one.to_dict()["chasm"]["chat_id"]  # type: ignore[typeddict-item]
    assert two.to_dict()["chasm"]["chat_id"] == chat_id  # type: ignore[typeddict-item]
    chat = (await admin.get(f"/api/v1/sessions/{chat_id}")).json()
    assert [m["content"] for m in chat["messages"]] == [
        "I am Ann.",
        "Hi Ann.",
        "Who am I?",
        "Your name is Ann.",
    ]
    assert chat["message_count"] == 4
    await client.close()


async def test_provider_errors_reach_the_sdk_as_its_own_exceptions(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    client = sdk(live, admin_key)
    ask: Any = [{"role": "user", "content": "hi"}]
    fake_llm.script([Reply(status=429, message="Rate limit reached for gpt-4o-mini")] * 3)
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="fake", messages=ask)
    assert "rate limited: Rate limit reached" in limited.value.message
    assert limited.value.code == "provider_rate_limited"

    fake_llm.script([Reply(status=500, message="upstream exploded")] * 3)
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model="fake", messages=ask, stream=True)
    assert failed.value.status_code == 502 and "server error (500): upstream exploded" in failed.value.message

    # "nope" names no provider: the default provider gets model "nope/x", which it does not have.
    fake_llm.script([Reply(status=404, message="The model `nope/x` does not exist")])
    with pytest.raises(openai.NotFoundError, match="does not exist") as unknown:
        await client.chat.completions.create(model="nope/x", messages=ask)
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="temperature"):
        await client.chat.completions.create(model="fake", messages=ask, temperature=7)
    with pytest.raises(openai.AuthenticationError):
        await sdk(live, "sk-not-a-chasm-key").chat.completions.create(model="fake", messages=ask)
    # Nothing failed was recorded.
    assert (await admin.get("/api/v1/sessions", params={"provider": "chasm"})).json()["total"] == 0

    # /api answers the same completion in spec 003's envelope.
    fake_llm.script([Reply(text="enveloped")])
    r = await admin.post("/api/chat/completions", json={"model": "fake", "messages": ask})
    assert r.status_code == 200 and r.json()["success"] is True
    assert r.json()["data"]["choices"][0]["message"]["content"] == "enveloped"
    await client.close()


async def test_a_stream_broken_by_the_provider_ends_with_an_error_event(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    fake_llm.script([Reply(text="one two three four", fail_after=2, message="backend went away")])
    client = sdk(live, admin_key)
    received: list[str] = []
    stream = await client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": "count"}], stream=True
    )
    with pytest.raises(openai.APIError, match="backend went away"):
        async for chunk in stream:
            received += [c.delta.content or "" for c in chunk.choices]
    assert "".join(received) == "one two"
    assert (await admin.get("/api/v1/sessions", params={"provider": "chasm"})).json()["total"] == 0
    await client.close()
