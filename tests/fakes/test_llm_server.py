"""The fake LLM API speaks what the official SDKs expect (so tests built on it test real wire formats)."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from fakes.llm_server import FakeLLM, Reply


def test_openai_sdk_plain_stream_tools_and_errors(fake_llm: FakeLLM) -> None:
    client = openai.OpenAI(base_url=fake_llm.openai_url, api_key=fake_llm.api_key, max_retries=0)
    fake_llm.script(
        [
            Reply(text="Hello there"),
            Reply(text="one two three"),
            Reply(tool_calls=[("terminal", {"command": "true"})]),
            Reply(status=429, message="slow down"),
        ]
    )
    msgs = [{"role": "user", "content": "hi"}]
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)  # type: ignore[arg-type]
    assert plain.choices[0].message.content == "Hello there"
    assert plain.usage is not None and plain.usage.completion_tokens == 2

    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=msgs,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert chunks[-1].usage is not None

    tool = client.chat.completions.create(model="gpt-4o", messages=msgs)  # type: ignore[arg-type]
    call = tool.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "terminal" and json.loads(call.function.arguments) == {"command": "true"}  # type: ignore[union-attr]
    assert tool.choices[0].finish_reason == "tool_calls"

    with pytest.raises(openai.RateLimitError, match="slow down"):
        client.chat.completions.create(model="gpt-4o", messages=msgs)  # type: ignore[arg-type]
    assert [m.id for m in client.models.list()] == fake_llm.models
    assert fake_llm.completions[0].body == {"model": "gpt-4o-mini", "messages": msgs}

    bad = openai.OpenAI(base_url=fake_llm.openai_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_anthropic_sdk_plain_stream_tools_and_errors(fake_llm: FakeLLM) -> None:
    client = anthropic.Anthropic(base_url=fake_llm.anthropic_url, api_key=fake_llm.api_key, max_retries=0)
    fake_llm.script(
        [
            Reply(text="Hi", cache_read_tokens=5),
            Reply(text="streamed text", tool_calls=[("read_file", {"path": "a.txt"})]),
            Reply(status=529),
        ]
    )
    msgs = [{"role": "user", "content": "hi"}]
    plain = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=msgs)  # type: ignore[arg-type]
    assert plain.content[0].text == "Hi"  # type: ignore[union-attr]
    assert plain.usage.cache_read_input_tokens == 5

    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=msgs) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed text"
    assert final.stop_reason == "tool_use"
    assert final.content[1].input == {"path": "a.txt"}  # type: ignore[union-attr]

    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=msgs)  # type: ignore[arg-type]
    assert [m.id for m in client.models.list()] == fake_llm.models
