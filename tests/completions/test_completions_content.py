"""tool_choice and image content parts through /api/v1/chat/completions with the official openai
SDK: forwarded to an OpenAI-compatible provider as sent, mapped to Anthropic's words for an
Anthropic one; an image is recorded in the library as a note, never as its base64."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import openai
import pytest
from provider_helpers import make_provider

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
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PIXEL_URL = "data:image/png;base64," + base64.b64encode(PIXEL).decode()
CAT_URL = "https://images.example.com/cat.jpg"


def sdk(live: LiveServer, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=live.url + "/api/v1", api_key=key, max_retries=0)


async def test_tool_choice_reaches_openai_as_sent_and_anthropic_in_its_words(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    await make_provider(admin, fake_llm, kind="anthropic", default_model="claude-sonnet-4-5")
    client = sdk(live, admin_key)
    ask: Any = [{"role": "user", "content": "Weather in Perth?"}]
    named = {"type": "function", "function": {"name": "get_weather"}}
    expected = {
        "fake": {"auto": "auto", "none": "none", "required": "required", "named": named},
        "anthropic": {
            "auto": {"type": "auto"},
            "none": {"type": "none"},
            "required": {"type": "any"},
            "named": {"type": "tool", "name": "get_weather"},
        },
    }
    for provider_name, choices in expected.items():
        for choice, sent in choices.items():
            fake_llm.script([Reply(tool_calls=[("get_weather", {"city": "Perth"})])])
            response = await client.chat.completions.create(
                model=provider_name,
                messages=ask,
                tools=[WEATHER],  # type: ignore[list-item]
                tool_choice=named if choice == "named" else choice,  # type: ignore[arg-type]
            )
            body = fake_llm.completions[-1].body
            assert body is not None and body["tool_choice"] == sent, (provider_name, choice)
            assert body["tools"], "tool_choice none still sends the tools (the model sees them)"
            [call] = response.choices[0].message.tool_calls or []
            assert call.function.name == "get_weather"  # type: ignore[union-attr]

    # A choice naming a function the request does not offer, or required without tools: refused.
    before = len(fake_llm.completions)
    other = {"type": "function", "function": {"name": "get_time"}}
    with pytest.raises(openai.BadRequestError, match="get_time"):
        await client.chat.completions.create(
            model="fake",
            messages=ask,
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice=other,  # type: ignore[arg-type]
        )
    with pytest.raises(openai.BadRequestError, match="'required' needs tools"):
        await client.chat.completions.create(model="anthropic", messages=ask, tool_choice="required")
    assert len(fake_llm.completions) == before  # nothing reached the provider
    await client.close()


async def test_images_reach_both_providers_and_the_library_keeps_a_note(
    live: LiveServer, admin_key: str, admin: httpx.AsyncClient, fake_llm: FakeLLM, provider: dict[str, Any]
) -> None:
    await make_provider(admin, fake_llm, kind="anthropic", default_model="claude-sonnet-4-5")
    client = sdk(live, admin_key)
    content: Any = [
        {"type": "text", "text": "What is in these pictures?"},
        {"type": "image_url", "image_url": {"url": PIXEL_URL, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": CAT_URL}},
    ]
    ask: Any = [{"role": "user", "content": content}]

    fake_llm.script([Reply(text="A pixel and a cat.")])
    response = await client.chat.completions.create(model="fake", messages=ask)
    assert response.choices[0].message.content == "A pixel and a cat."
    sent = fake_llm.completions[-1].body
    assert sent is not None and sent["messages"][0]["content"] == content  # OpenAI: as sent

    fake_llm.script([Reply(text="Still a pixel and a cat.")])
    streamed = await client.chat.completions.create(model="anthropic", messages=ask, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in streamed if c.choices])
    assert text == "Still a pixel and a cat."
    sent = fake_llm.completions[-1].body
    assert sent is not None
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "What is in these pictures?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_URL.split(",", 1)[1]},
        },
        {"type": "image", "source": {"type": "url", "url": CAT_URL}},
    ]

    # The library holds the text and a note of each image: what it is, not its bytes.
    chat_id = response.to_dict()["chasm"]["chat_id"]  # type: ignore[typeddict-item]
    chat = (await admin.get(f"/api/v1/sessions/{chat_id}")).json()
    question = chat["messages"][0]
    digest = hashlib.sha256(PIXEL).hexdigest()[:16]
    assert question["content"] == (
        "What is in these pictures?\n"
        f"[image: image/png, {len(PIXEL)} bytes, sha256 {digest}]\n"
        f"[image: {CAT_URL}]"
    )
    assert question["metadata"]["images"] == [
        {"media_type": "image/png", "bytes": len(PIXEL), "sha256": digest},
        {"url": CAT_URL},
    ]
    assert PIXEL_URL.split(",", 1)[1] not in str(chat)

    # Images that cannot be sent: refused before any provider sees them.
    before = len(fake_llm.completions)
    bad: list[tuple[Any, str]] = [
        ([{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}], "not text/plain"),
        ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}], "not valid base64"),
        ([{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}], "http"),
        ([{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}], "input_audio"),
    ]
    for parts, words in bad:
        with pytest.raises(openai.BadRequestError, match=words):
            await client.chat.completions.create(model="fake", messages=[{"role": "user", "content": parts}])
    assert len(fake_llm.completions) == before
    await client.close()
