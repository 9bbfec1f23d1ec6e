"""A chat too long for the model's window is continued with its middle summarised by the model
(one completion through the run's provider), its beginning and end kept; when the summary fails
the middle is left out and the context says why."""

from __future__ import annotations

from typing import Any

import httpx
from agents_helpers import add_provider, system_prompt

from chasm.agents.context import CONTEXT_MAX_CHARS, SUMMARY_INSTRUCTION
from fakes.llm_server import FakeLLM, Reply


async def _long_chat(client: httpx.AsyncClient) -> dict[str, Any]:
    """60 messages of ~3,000 characters: three times the context budget."""
    messages = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"turn-{i:02d} " + ("lorem ipsum " * 250),
        }
        for i in range(60)
    ]
    r = await client.post("/api/v1/sessions", json={"title": "A long session", "messages": messages})
    assert r.status_code == 201, r.text
    chat: dict[str, Any] = r.json()
    return chat


async def test_a_long_chat_is_continued_with_its_middle_summarised(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(client, fake_llm)
    chat = await _long_chat(client)
    fake_llm.script(
        [
            Reply(text="The user and the assistant discussed lorem ipsum across thirty turns."),
            Reply(text="Going on from turn 59."),
        ]
    )
    r = await client.post(f"/api/v1/sessions/{chat['id']}/continue", json={"prompt": "Carry on"})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed" and run["answer"] == "Going on from turn 59."

    summarise, answer = fake_llm.completions
    asked = summarise.body or {}
    assert asked["messages"][0] == {"role": "system", "content": SUMMARY_INSTRUCTION}
    middle = asked["messages"][1]["content"]
    assert "turn-10" in middle and "turn-00" not in middle and "turn-59" not in middle
    assert asked["model"] == "gpt-4o-mini" and "tools" not in asked

    context = system_prompt(answer)
    assert "turn-00" in context and "turn-59" in context  # beginning and end word for word
    assert "turn-30 " not in context  # the middle is the summary
    assert "discussed lorem ipsum across thirty turns" in context
    assert len(context) < CONTEXT_MAX_CHARS + 5_000

    fork = (await client.get(f"/api/v1/sessions/{run['chat_id']}")).json()
    facts = fork["metadata"]["context"]
    assert facts["mode"] == "summarised" and facts["model"] == "gpt-4o-mini"
    assert facts["middle_messages"] > 30 and facts["output_tokens"] > 0


async def test_a_failed_summary_leaves_the_middle_out_and_says_so(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(client, fake_llm)
    chat = await _long_chat(client)
    fake_llm.script(
        [
            Reply(status=400, message="This model's maximum context length is 8192 tokens"),
            Reply(text="Going on without the middle."),
        ]
    )
    r = await client.post(f"/api/v1/sessions/{chat['id']}/continue", json={"prompt": "Carry on"})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed" and run["answer"] == "Going on without the middle."
    context = system_prompt(fake_llm.completions[-1])
    assert "turn-00" in context and "turn-59" in context and "turn-30 " not in context
    assert "summarising them failed (context_length_exceeded" in context
    fork = (await client.get(f"/api/v1/sessions/{run['chat_id']}")).json()
    facts = fork["metadata"]["context"]
    assert facts["mode"] == "cut" and facts["error"].startswith("context_length_exceeded")

    # A short chat goes whole: no summary call.
    r = await client.post("/api/v1/sessions", json={"messages": [{"role": "user", "content": "short one"}]})
    short = r.json()
    before = len(fake_llm.completions)
    fake_llm.script([Reply(text="ok")])
    r = await client.post(f"/api/v1/sessions/{short['id']}/continue", json={"prompt": "Carry on"})
    assert r.status_code == 200 and len(fake_llm.completions) == before + 1
    fork = (await client.get(f"/api/v1/sessions/{r.json()['chat_id']}")).json()
    assert fork["metadata"]["context"] == {"mode": "whole"}
