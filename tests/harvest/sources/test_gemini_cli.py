from __future__ import annotations

from pathlib import Path

import pytest
from source_helpers import copy, corrupt_line, fixture, only_chat, unit

from chasm.harvest.sources.gemini_cli import source

P = "gemini-cli"

EXPECTED = [
    (
        "agentsessions_gemini_jsonl_v040.jsonl",
        3,
        "gemini_stage0_jsonl",
        "Say hello and list files.",
        "2026-04-29T21:39:33.155000+00:00",
    ),
    (
        "agentsessions_gemini_large.json",
        7,
        "session-2025-12-16T23-47-b4f17607",
        "Run a command",
        "2025-12-16T23:47:01+00:00",
    ),
    (
        "agentsessions_gemini_small.json",
        2,
        "session-2026-01-16T18-34-3739ef95",
        "Hello",
        "2026-01-16T18:34:01+00:00",
    ),
    (
        "agtrace_gemini_session.json",
        9,
        "f0a689a6-b0ac-407f-afcc-4fafa9e14e8a",
        "add myapp directory",
        "2025-12-09T19:51:29.418000+00:00",
    ),
    (
        "gitai_gemini-session-simple.jsonl",
        6,
        "gitai_gemini-session-simple",
        "add another hello bob",
        "2025-12-06T18:25:18.042000+00:00",
    ),
]


@pytest.mark.parametrize(("name", "messages", "sid", "text", "ts"), EXPECTED)
def test_every_fixture(name: str, messages: int, sid: str, text: str, ts: str) -> None:
    chat = only_chat(source.parse(unit(fixture(P, name))))
    assert len(chat.messages) == messages and chat.source_id == sid
    first = chat.messages[0]
    assert first.role == "user" and first.content.startswith(text)
    assert first.timestamp is not None and first.timestamp.isoformat() == ts


def test_tools_thoughts_tokens() -> None:
    chat = only_chat(source.parse(unit(fixture(P, "agentsessions_gemini_jsonl_v040.jsonl"))))
    call = chat.messages[1].tool_calls[0]
    assert (call.name, call.input["command"]) == ("run_shell_command", "ls -F")
    assert call.output is not None and call.output.startswith("Output: AgentSessions/")
    last = chat.messages[2]
    assert last.usage is not None and (
        last.usage.input_tokens,
        last.usage.cache_read_tokens,
        last.usage.output_tokens,
    ) == (567, 11502, 147)
    assert chat.model == "gemini-3-flash-preview" and chat.metadata["kind"] == "main"
    session = only_chat(source.parse(unit(fixture(P, "agtrace_gemini_session.json"))))
    assert session.messages[1].thinking is not None and session.messages[1].thinking.startswith(
        "**Analyzing the Task's Requirements**"
    )
    assert session.messages[1].usage is not None and session.messages[1].usage.reasoning_tokens == 86
    large = only_chat(source.parse(unit(fixture(P, "agentsessions_gemini_large.json"))))
    assert [m.role for m in large.messages] == [
        "user",
        "assistant",
        "assistant",
        "system",
        "assistant",
        "user",
        "assistant",
    ]


def test_corrupt_and_discover(tmp_path: Path) -> None:
    bad = corrupt_line(fixture(P, "gitai_gemini-session-simple.jsonl"), tmp_path / "session-x.jsonl", 2)
    out = source.parse(unit(bad))
    assert [i.line for i in out.issues] == [2] and len(out.chats[0].messages) == 5
    broken = tmp_path / "session-y.json"
    broken.write_text("{")
    assert source.parse(unit(broken)).chats == []
    chats = tmp_path / ".gemini" / "tmp" / "0b7dfb12" / "chats"
    copy(fixture(P, "agentsessions_gemini_small.json"), chats / "session-2026-01-16T18-34-3739ef95.json")
    copy(fixture(P, "gitai_gemini-session-simple.jsonl"), chats / "session-2025-12-06T18-25-38b36361.jsonl")
    copy(
        fixture(P, "agentsessions_gemini_small.json"), tmp_path / ".gemini" / "tmp" / "0b7dfb12" / "logs.json"
    )
    roots = source.default_roots("darwin", tmp_path, {})
    assert roots == [tmp_path / ".gemini" / "tmp"]
    units = list(source.discover(roots))
    assert len(units) == 2
    (tmp_path / ".gemini" / "tmp" / "0b7dfb12" / ".project_root").write_text("/home/me/proj\n")
    assert only_chat(source.parse(units[0])).workspace_path == "/home/me/proj"


def test_jsonl_message_written_again_replaces_the_first(tmp_path: Path) -> None:
    target = copy(fixture(P, "gitai_gemini-session-simple.jsonl"), tmp_path / "session-z.jsonl")
    with open(target, "a") as f:
        f.write('{"id":"3fc72b76-f438-469b-9220-2dddf7cc733d","timestamp":"2025-12-06T18:27:50Z",')
        f.write('"type":"gemini","content":"Task complete, edited.","model":"gemini-2.5-pro"}\n')
    chat = only_chat(source.parse(unit(target)))
    assert len(chat.messages) == 6
    assert (
        chat.messages[-1].content == "Task complete, edited." and chat.messages[-1].model == "gemini-2.5-pro"
    )
    replace = chat.messages[1].tool_calls[0]
    assert replace.name == "replace" and replace.input["file_path"].endswith("/testing-git/index.ts")
