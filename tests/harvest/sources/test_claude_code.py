from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from source_helpers import copy, corrupt_line, fixture, only_chat, split_copy, unit

from chasm.harvest.model import Resume
from chasm.harvest.sources.claude_code import source

P = "claude-code"

# file, chats, messages, first role, first text (prefix), first timestamp
EXPECTED = [
    ("agentsessions_stage0_claude_small.jsonl", 1, 13, "user", "Hello", "2025-12-16T00:00:01+00:00"),
    (
        "agentsessions_subagent_agent-a0ad4f44468bdf20d.jsonl",
        1,
        2,
        "user",
        "Search the repo for TODO",
        "2025-12-16T00:00:02.200000+00:00",
    ),
    (
        "agentsessions_subagent_parent_0a1b2c3d.jsonl",
        1,
        2,
        "user",
        "Delegate a repo search",
        "2025-12-16T00:00:01+00:00",
    ),
    ("agtrace_claude_agent.jsonl", 1, 2, "user", "Warmup", "2025-12-09T19:45:21.709000+00:00"),
    (
        "agtrace_claude_session.jsonl",
        1,
        11,
        "user",
        "add myapp directory and create",
        "2025-12-09T19:47:42.930000+00:00",
    ),
    (
        "gitai_claude-code-with-plan.jsonl",
        1,
        7,
        "user",
        "Help me implement user authentication",
        "2025-12-20T10:00:00+00:00",
    ),
    (
        "gitai_claude-code-with-thinking.jsonl",
        1,
        3,
        "user",
        "add another hello world console log",
        "2025-12-16T00:35:39.299000+00:00",
    ),
    (
        "gitai_example-claude-code.jsonl",
        1,
        15,
        "user",
        "Make the colors green and yellow",
        "2025-09-11T13:28:05.638000+00:00",
    ),
    (
        "vsla_projects/-home-kenth56-Downloads/9cc4a4b0-cba8-4e56-b79f-80b730735150.jsonl",
        1,
        23,
        "user",
        "kenth56@kenth56-OMEN",
        "2025-07-16T19:58:34.347000+00:00",
    ),
    (
        "vsla_projects/-home-kenth56-vsla/069508a5-1193-487c-a9b5-a6f5f3ae4f98.jsonl",
        1,
        25,
        "user",
        "Verify Cuda is working",
        "2025-07-16T19:34:48.385000+00:00",
    ),
    (
        "vsla_projects/-home-kenth56-vsla/9b92ce83-1981-4cdc-9f5d-7f66c4b10389.jsonl",
        1,
        3,
        "system",
        "Caveat: The messages below",
        "2025-07-16T20:11:06.548000+00:00",
    ),
    ("vsla_projects/-home-kenth56-vsla/c001d2c0-fa59-4098-9d96-e46afcfa1170.jsonl", 0, 0, None, None, None),
    (
        "vsla_projects/-home-kenth56-vsla/e80aa543-6eff-4cb5-91e0-6d4e8e7951e9.jsonl",
        1,
        21,
        "user",
        "Check the status.md",
        "2025-07-17T20:24:16.713000+00:00",
    ),
    (
        "vsla_projects/-home-kenth56-vsla/f6108699-47cc-4b21-8ca6-3223992990b3.jsonl",
        1,
        7,
        "user",
        "dump all claude conversations",
        "2025-07-24T19:49:57.088000+00:00",
    ),
]


@pytest.mark.parametrize(("name", "chats", "messages", "role", "text", "ts"), EXPECTED)
def test_every_fixture(
    name: str, chats: int, messages: int, role: str | None, text: str | None, ts: str | None
) -> None:
    out = source.parse(unit(fixture(P, name)))
    assert not out.issues
    assert len(out.chats) == chats
    assert sum(len(c.messages) for c in out.chats) == messages
    assert out.resume is not None and out.resume.offset == fixture(P, name).stat().st_size
    if chats:
        first = out.chats[0].messages[0]
        assert first.role == role and first.content.startswith(str(text))
        assert first.timestamp is not None and first.timestamp.isoformat() == ts
        for m in out.chats[0].messages:
            assert m.timestamp is None or m.timestamp.tzinfo is not None


def test_session_content_tools_usage_and_merging() -> None:
    chat = only_chat(source.parse(unit(fixture(P, "agtrace_claude_session.jsonl"))))
    assert chat.source_id == "agtrace_claude_session"
    assert chat.workspace_path == "/Users/test_user/agent-sample/myapp"
    assert chat.model == "claude-sonnet-4-5-20250929"
    assert chat.metadata["git_branch"] == "claude" and chat.metadata["cli_version"] == "2.0.28"
    first_reply = chat.messages[1]
    assert first_reply.role == "assistant"
    assert first_reply.content.startswith("I'll create the myapp directory")
    assert first_reply.thinking and first_reply.thinking.startswith("The user wants me to:")
    assert [(c.name, c.input) for c in first_reply.tool_calls][0][0] == "Bash"
    assert first_reply.tool_calls[0].input["command"] == "mkdir -p myapp"
    assert first_reply.tool_calls[0].is_error is False
    # Thinking, text and tool_use came as three records sharing one message.id: one message, usage once.
    assert first_reply.usage is not None
    assert (first_reply.usage.input_tokens, first_reply.usage.output_tokens) == (10, 436)
    assert (first_reply.usage.cache_read_tokens, first_reply.usage.cache_write_tokens) == (12135, 3893)
    ids = [m.source_id for m in chat.messages if m.role == "assistant"]
    assert len(ids) == len(set(ids))
    failing = next(m for m in chat.messages if any("python hoge.py" in str(c.input) for c in m.tool_calls))
    assert failing.tool_calls[0].is_error is True
    assert "target shim binary not found" in (failing.tool_calls[0].output or "")
    assert chat.created_at == datetime(2025, 12, 9, 19, 47, 42, 930000, tzinfo=UTC)


def test_titles_and_branch_choice() -> None:
    chat = only_chat(source.parse(unit(fixture(P, "agentsessions_stage0_claude_small.jsonl"))))
    assert chat.title == "Stage0 small fixture"  # custom-title wins over ai-title
    assert chat.messages[1].tool_calls[0].output == "ok"
    edits = only_chat(
        source.parse(
            unit(fixture(P, "vsla_projects/-home-kenth56-vsla/9b92ce83-1981-4cdc-9f5d-7f66c4b10389.jsonl"))
        )
    )
    assert edits.metadata["skipped_branch_messages"] == 2
    assert [m.content[:22] for m in edits.messages[1:]] == [
        "<command-name>/exit</c",
        "<local-command-stdout>",
    ]


def test_resume_returns_only_the_new_messages(tmp_path: Path) -> None:
    src = fixture(P, "agtrace_claude_session.jsonl")
    full = only_chat(source.parse(unit(src)))
    lines = src.read_bytes().splitlines()
    cut = next(
        i
        for i, line in enumerate(lines)
        if b"cd to myapp and run python hoge.py" in line and b'"type":"user"' in line
    )
    target = tmp_path / "s.jsonl"
    head_size, rest = split_copy(src, target, cut)
    first = source.parse(unit(target))
    head = only_chat(first)
    assert first.resume is not None and first.resume.offset == head_size
    with open(target, "ab") as f:
        f.write(rest)
    second = source.parse(unit(target), Resume(first.resume.offset, first.resume.state))
    tail = only_chat(second)
    assert tail.source_id == head.source_id == "s"
    assert len(head.messages) + len(tail.messages) == len(full.messages)
    assert [m.content for m in tail.messages] == [m.content for m in full.messages[len(head.messages) :]]
    assert tail.messages[0].content == "cd to myapp and run python hoge.py"
    assert second.resume is not None and second.resume.offset == target.stat().st_size
    # Nothing new: no chat, same offset.
    third = source.parse(unit(target), second.resume)
    assert third.chats == [] and third.resume is not None and third.resume.offset == second.resume.offset


def test_partial_last_line_is_left_for_later(tmp_path: Path) -> None:
    src = fixture(P, "gitai_claude-code-with-thinking.jsonl")
    data = src.read_bytes()
    target = tmp_path / "p.jsonl"
    target.write_bytes(data + b'{"type":"user","message":{"role":"us')
    out = source.parse(unit(target))
    assert not out.issues
    assert out.resume is not None and out.resume.offset == len(data)


def test_corrupt_line_becomes_an_issue(tmp_path: Path) -> None:
    target = corrupt_line(fixture(P, "gitai_example-claude-code.jsonl"), tmp_path / "c.jsonl", 5)
    out = source.parse(unit(target))
    assert [i.line for i in out.issues] == [5]
    assert len(out.chats) == 1 and len(out.chats[0].messages) >= 10


def test_unreadable_or_garbage_file(tmp_path: Path) -> None:
    garbage = tmp_path / "g.jsonl"
    garbage.write_bytes(b"\x00\xff not json\n")
    out = source.parse(unit(garbage))
    assert out.chats == [] and [i.line for i in out.issues] == [1]
    missing = source.parse(unit(tmp_path / "missing.jsonl"))
    assert missing.chats == [] and len(missing.issues) == 1


def test_discover_layouts_and_subagents(tmp_path: Path) -> None:
    projects = tmp_path / ".claude" / "projects"
    proj = projects / "-Users-test-user-agent-sample"
    copy(fixture(P, "agtrace_claude_session.jsonl"), proj / "7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9.jsonl")
    copy(fixture(P, "agtrace_claude_agent.jsonl"), proj / "agent-0c4c3cf8.jsonl")
    parent = "0a1b2c3d-4e5f-4061-8071-2a3b4c5d6e7f"
    copy(fixture(P, "agentsessions_subagent_parent_0a1b2c3d.jsonl"), proj / f"{parent}.jsonl")
    sub = proj / parent / "subagents"
    copy(
        fixture(P, "agentsessions_subagent_agent-a0ad4f44468bdf20d.jsonl"),
        sub / "agent-a0ad4f44468bdf20d.jsonl",
    )
    copy(
        fixture(P, "agentsessions_subagent_agent-a0ad4f44468bdf20d.meta.json"),
        sub / "agent-a0ad4f44468bdf20d.meta.json",
    )
    (proj / "notes.txt").write_text("x")
    roots = source.default_roots("linux", tmp_path, {"HOME": str(tmp_path)})
    assert roots[0] == projects
    units = {Path(u.key).name: u for u in source.discover(roots)}
    assert set(units) == {
        "7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9.jsonl",
        "agent-0c4c3cf8.jsonl",
        f"{parent}.jsonl",
        "agent-a0ad4f44468bdf20d.jsonl",
    }
    assert all(u.resumable for u in units.values())
    assert len(units["agent-a0ad4f44468bdf20d.jsonl"].paths) == 2
    old = only_chat(source.parse(units["agent-0c4c3cf8.jsonl"]))
    assert old.parent_source_id == "7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9"
    new = only_chat(source.parse(units["agent-a0ad4f44468bdf20d.jsonl"]))
    assert new.parent_source_id == parent
    assert new.metadata["agent_type"] == "general-purpose"
    main = only_chat(source.parse(units["7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9.jsonl"]))
    assert main.source_id == "7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9" and main.parent_source_id is None


def test_default_roots_per_platform(tmp_path: Path) -> None:
    assert source.default_roots("darwin", tmp_path, {}) == [tmp_path / ".claude" / "projects"]
    assert source.default_roots("win32", tmp_path, {}) == [tmp_path / ".claude" / "projects"]
    assert source.default_roots("linux", tmp_path, {"CLAUDE_CONFIG_DIR": "/x/cfg"}) == [
        Path("/x/cfg/projects")
    ]


def test_resume_inside_a_split_api_message_counts_usage_once(tmp_path: Path) -> None:
    src = fixture(P, "agtrace_claude_session.jsonl")
    target = tmp_path / "split.jsonl"
    _, rest = split_copy(src, target, 3)  # the first reply's thinking record only
    first = source.parse(unit(target))
    head = only_chat(first)
    assert head.messages[-1].thinking and head.messages[-1].content == ""
    assert head.messages[-1].usage is not None
    with open(target, "ab") as f:
        f.write(rest)
    assert first.resume is not None
    tail = only_chat(source.parse(unit(target), first.resume))
    continued = tail.messages[0]
    assert continued.source_id == head.messages[-1].source_id == "msg_01RcDNkcZxwfy4UY9xdcSoX3"
    assert continued.metadata["continued"] is True and continued.usage is None
    assert continued.tool_calls[0].output is not None  # its result came after the offset too
