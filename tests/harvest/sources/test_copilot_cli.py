from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources import copilot_cli

SRC = copilot_cli.source
P = "copilot-cli"


def parse(path: Path, resume: Resume | None = None) -> ParseOutcome:
    return SRC.parse(SourceUnit(key=str(path), paths=[path], resumable=True), resume)


EXPECTED = [
    ("agentsessions_copilot_cli_small.jsonl", 8, "copilot_stage0_small", "List the files"),
    (
        "agentsessions_session-state_aaaabbbb_events.jsonl",
        3,
        "aaaabbbb-1111-2222-3333-ccccddddeeee",
        "List the files",
    ),
    (
        "gitai_copilot_cli_session_events.jsonl",
        2,
        "301561f1-558a-43e9-a144-82d3ca12ab62",
        "create a hello world file",
    ),
]


@pytest.mark.parametrize(("name", "messages", "chat_id", "first"), EXPECTED)
def test_every_fixture(name: str, messages: int, chat_id: str, first: str) -> None:
    outcome = parse(fixture(P, name))
    chat = only_chat(outcome)
    assert chat.provider == "copilot-cli"
    assert len(chat.messages) == messages
    assert chat.source_id == chat_id
    assert chat.messages[0].role == "user" and chat.messages[0].content == first
    assert outcome.resume is not None and outcome.resume.offset == fixture(P, name).stat().st_size


def test_small_session_details() -> None:
    chat = only_chat(parse(fixture(P, "agentsessions_copilot_cli_small.jsonl")))
    assert chat.workspace_path == "/tmp/repo"  # from session.start; a later resume does not overwrite it
    assert chat.model == "gpt-5-mini"
    assert chat.created_at == datetime(2025, 12, 18, 21, 32, 4, 182000, tzinfo=UTC)
    assert chat.metadata["branch"] == "main" and chat.metadata["copilotVersion"] == "1.0.77"
    assert chat.metadata["usage"] == {
        "input_tokens": 100,
        "output_tokens": 15,
        "cache_read_tokens": 5,
        "cache_write_tokens": 0,
    }
    assert roles(chat) == [
        "user",
        "assistant",
        "assistant",
        "tool",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]
    user, listing, done = chat.messages[:3]
    assert user.timestamp == datetime(2025, 12, 18, 21, 32, 11, tzinfo=UTC)
    assert listing.content == "Listing the files." and listing.model == "gpt-5-mini"
    assert listing.usage is not None and listing.usage.output_tokens == 12
    [call] = listing.tool_calls
    assert (call.name, call.id, call.input, call.output, call.is_error) == (
        "shell",
        "call-1",
        {"command": "ls"},
        "a.txt\nb.txt\n",
        False,
    )
    assert done.content == "Done" and done.usage is not None and done.usage.output_tokens == 3
    # A result whose call is not in the log stays, as a tool message.
    assert chat.messages[3].content == "[trimmed for fixture]"
    # assistant.reasoning goes to the next assistant message's thinking.
    assert chat.messages[7].thinking == "[trimmed for fixture]"
    subagent = chat.messages[4]
    assert subagent.metadata["parent_tool_call_id"] == "[trimmed for fixture]"
    assert subagent.tool_calls[0].is_error is True


def test_events_file_and_string_arguments() -> None:
    chat = only_chat(parse(fixture(P, "agentsessions_session-state_aaaabbbb_events.jsonl")))
    assert chat.workspace_path == "/tmp/project"
    assert chat.messages[1].tool_calls[0].input == {"command": "ls", "description": "List files"}
    assert chat.messages[1].tool_calls[0].output == "file1\nfile2\n"
    assert chat.messages[2].content == "The directory contains file1 and file2."
    gitai = only_chat(parse(fixture(P, "gitai_copilot_cli_session_events.jsonl")))
    assert gitai.model == "gpt-4.1"  # session.model_change
    [call] = gitai.messages[1].tool_calls
    assert call.input == {"path": "/Users/test/project/hello.py", "file_text": "print('hello world')\n"}
    assert call.output == "Created file /Users/test/project/hello.py"
    assert gitai.messages[1].timestamp == datetime(2026, 5, 12, 0, 21, 12, tzinfo=UTC)


def test_resume_continues_after_the_offset(tmp_path: Path) -> None:
    data = fixture(P, "agentsessions_copilot_cli_small.jsonl").read_bytes()
    lines = data.splitlines(keepends=True)
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(lines[:9]) + lines[9][:20])  # a half-written 10th line
    first = parse(path)
    assert [m.content for m in first.chats[0].messages] == ["List the files", "Listing the files."]
    assert first.resume is not None and first.resume.offset == len(b"".join(lines[:9]))
    path.write_bytes(data)
    second = parse(path, first.resume)
    chat = only_chat(second)
    assert chat.source_id == "copilot_stage0_small" and chat.workspace_path == "/tmp/repo"
    assert chat.model == "gpt-5-mini"
    # Line 11 completes call-1, which was in the first chunk: the result is kept as a tool message.
    assert roles(chat)[:3] == ["tool", "assistant", "tool"]
    assert chat.messages[0].content == "a.txt\nb.txt\n"
    assert len(first.chats[0].messages) + len(chat.messages) == 8 + 1
    assert second.resume is not None and second.resume.offset == len(data)
    assert parse(path, second.resume).chats == []


def test_corrupt_line(tmp_path: Path) -> None:
    lines = fixture(P, "gitai_copilot_cli_session_events.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = b'{"type": "user.message", "data": {broken\n'
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(lines))
    outcome = parse(path)
    assert [(i.line, i.message.startswith("invalid JSON")) for i in outcome.issues] == [(3, True)]
    assert roles(outcome.chats[0]) == ["assistant"]


def test_discover_layouts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = home / ".copilot" / "session-state"
    place(
        fixture(P, "agentsessions_session-state_aaaabbbb_events.jsonl"), state / "aaaabbbb" / "events.jsonl"
    )
    place(fixture(P, "gitai_copilot_cli_session_events.jsonl"), state / "301561f1.jsonl")
    place(
        fixture(P, "agentsessions_copilot_cli_small.jsonl"),
        home / ".copilot" / "history-session-state" / "old.jsonl",
    )
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert roots == [home / ".copilot"]
    assert SRC.default_roots("win32", home, {}) == [home / ".copilot"]
    assert SRC.default_roots("darwin", home, {"COPILOT_HOME": "/x/c"}) == [Path("/x/c")]
    units, outcomes = parse_all(SRC, *roots)
    assert all(u.resumable for u in units)
    assert sorted(c.source_id for o in outcomes for c in o.chats) == [
        "301561f1-558a-43e9-a144-82d3ca12ab62",
        "aaaabbbb-1111-2222-3333-ccccddddeeee",
        "copilot_stage0_small",
    ]


def test_resumed_chunk_keeps_the_first_prompt_as_title(tmp_path: Path) -> None:
    data = fixture(P, "agentsessions_copilot_cli_small.jsonl").read_bytes()
    lines = data.splitlines(keepends=True)
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(lines[:28]))
    first = parse(path)
    path.write_bytes(data)
    second = only_chat(parse(path, first.resume))
    assert second.messages[0].content == "[trimmed for fixture]"  # the user message of line 30
    assert second.title == "List the files"
