from __future__ import annotations

from pathlib import Path

import pytest
from source_helpers import copy, corrupt_line, fixture, only_chat, split_copy, unit

from chasm.harvest.model import Resume
from chasm.harvest.sources.codex import source

P = "codex"

EXPECTED = [
    ("agentsessions_codex_050_legacy.jsonl", 0, 0, None, None, None),
    ("agentsessions_codex_051_usage.jsonl", 0, 0, None, None, None),
    ("agentsessions_codex_052_raw.jsonl", 0, 0, None, None, None),
    ("agentsessions_codex_053_rate_limit.jsonl", 0, 0, None, None, None),
    (
        "agentsessions_stage0_codex_small_cli0.146.jsonl",
        1,
        7,
        "user",
        "List the files",
        "2026-08-03T10:48:56+00:00",
    ),
    (
        "agtrace_codex_session.jsonl",
        1,
        7,
        "system",
        "<environment_context>",
        "2025-12-09T19:55:16.336000+00:00",
    ),
    ("agtrace_rollout-parent-019b88e0.jsonl", 1, 1, "user", "ls", "2026-01-04T12:01:36.936000+00:00"),
    (
        "gitai_codex-session-simple.jsonl",
        1,
        3,
        "user",
        "Refactor src/main.rs to add a greeting function.",
        "2026-02-11T05:53:33.360000+00:00",
    ),
    (
        "gitai_codex-session-updated.jsonl",
        1,
        3,
        "user",
        "Refactor src/main.rs to add a greeting function and",
        "2026-02-11T05:53:33.360000+00:00",
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
    if chats:
        first = out.chats[0].messages[0]
        assert first.role == role and first.content.startswith(str(text))
        assert first.timestamp is not None and first.timestamp.isoformat() == ts


def test_session_tools_reasoning_usage() -> None:
    chat = only_chat(source.parse(unit(fixture(P, "agtrace_codex_session.jsonl"))))
    assert chat.source_id == "019b04ae-b1c6-7c72-a134-a4c2de66058c"
    assert chat.workspace_path == "/Users/test_user/agent-sample"
    assert chat.model == "gpt-5.1-codex-max"
    assert chat.metadata["cli_version"] == "0.66.0" and chat.metadata["git_branch"] == "codex"
    assert chat.messages[0].metadata["injected"] is True
    assert chat.messages[1].role == "user" and chat.messages[1].content.startswith("add myapp directory")
    step = chat.messages[2]
    assert step.role == "assistant" and step.content == ""
    call = step.tool_calls[0]
    assert call.name == "shell_command" and call.input["command"] == "mkdir -p myapp"
    assert call.output is not None and call.output.startswith("Exit code: 0")
    assert step.tool_calls[1].name == "apply_patch"  # custom_tool_call
    assert step.usage is not None
    assert (
        step.usage.input_tokens,
        step.usage.cache_read_tokens,
        step.usage.output_tokens,
        step.usage.reasoning_tokens,
    ) == (1072, 6144, 141, 64)
    reply = chat.messages[3]
    assert reply.content.startswith("Added simple script in `myapp/hoge.py`")
    assert reply.thinking is not None and reply.thinking.startswith("**Creating file with patch**")
    assert chat.metadata["token_usage"]["total_tokens"] > 0


def test_event_only_file_and_function_calls() -> None:
    chat = only_chat(source.parse(unit(fixture(P, "agtrace_rollout-parent-019b88e0.jsonl"))))
    assert chat.model == "gpt-5.2-codex" and chat.workspace_path == "/test/project"
    updated = only_chat(source.parse(unit(fixture(P, "gitai_codex-session-updated.jsonl"))))
    calls = updated.messages[1].tool_calls
    assert [c.name for c in calls] == ["apply_patch", "shell_command"]
    assert calls[1].input == {"command": "cargo test", "workdir": "/Users/test/projects/git-ai"}
    assert updated.model == "gpt-5.1-codex"
    stage0 = only_chat(source.parse(unit(fixture(P, "agentsessions_stage0_codex_small_cli0.146.jsonl"))))
    assert stage0.messages[0].metadata["images"] == 1
    assert stage0.messages[2].content == "Found 2 files."


def test_resume_and_corrupt_line(tmp_path: Path) -> None:
    src = fixture(P, "agtrace_codex_session.jsonl")
    full = only_chat(source.parse(unit(src)))
    lines = src.read_bytes().splitlines()
    cut = next(
        i
        for i, line in enumerate(lines)
        if b"cd to myapp and run python hoge.py" in line and b"response_item" in line
    )
    target = tmp_path / "rollout-2025-12-09T19-55-16-019b04ae-b1c6-7c72-a134-a4c2de66058c.jsonl"
    _, rest = split_copy(src, target, cut)
    first = source.parse(unit(target))
    head = only_chat(first)
    with open(target, "ab") as f:
        f.write(rest)
    assert first.resume is not None
    tail = only_chat(source.parse(unit(target), Resume(first.resume.offset, first.resume.state)))
    assert tail.source_id == head.source_id == full.source_id
    assert len(head.messages) + len(tail.messages) == len(full.messages)
    assert tail.messages[0].content == "cd to myapp and run python hoge.py"
    assert tail.messages[1].model == "gpt-5.1-codex-max"
    bad = corrupt_line(src, tmp_path / "bad.jsonl", 4)
    out = source.parse(unit(bad))
    assert [i.line for i in out.issues] == [4] and len(out.chats) == 1


def test_legacy_single_json_and_discover(tmp_path: Path) -> None:
    home = tmp_path / ".codex"
    day = home / "sessions" / "2025" / "12" / "09"
    copy(
        fixture(P, "agtrace_codex_session.jsonl"),
        day / "rollout-2025-12-09T19-55-16-019b04ae-b1c6-7c72-a134-a4c2de66058c.jsonl",
    )
    legacy = home / "sessions" / "rollout-2025-04-20-abc.json"
    legacy.write_text(
        '{"session":{"timestamp":"2025-04-20T10:00:00Z","id":"abc","instructions":""},"items":['
        '{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},'
        '{"type":"function_call","name":"shell","arguments":"{\\"command\\":[\\"ls\\"]}","call_id":"c1"},'
        '{"type":"function_call_output","call_id":"c1","output":"a.txt"},'
        '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"one file"}]}]}'
    )
    (home / "sessions" / "history.jsonl").write_text("{}\n")
    roots = source.default_roots("linux", tmp_path, {})
    assert roots == [home / "sessions", home / "archived_sessions"]
    assert source.default_roots("win32", tmp_path, {"CODEX_HOME": "/c"})[0] == Path("/c/sessions")
    units = list(source.discover(roots))
    assert sorted(Path(u.key).suffix for u in units) == [".json", ".jsonl"]
    legacy_unit = next(u for u in units if u.key.endswith(".json"))
    assert legacy_unit.resumable is False
    chat = only_chat(source.parse(legacy_unit))
    assert chat.source_id == "abc"
    assert [m.role for m in chat.messages] == ["user", "assistant", "assistant"]
    assert chat.messages[1].tool_calls[0].output == "a.txt"
    broken = tmp_path / "rollout-x.json"
    broken.write_text("{nope")
    out = source.parse(unit(broken, resumable=False))
    assert out.chats == [] and len(out.issues) == 1


def test_odd_resume_state_and_roots_never_raise(tmp_path: Path) -> None:
    from chasm.harvest.sources.aider import source as aider
    from chasm.harvest.sources.claude_code import source as claude

    src = fixture(P, "gitai_codex-session-simple.jsonl")
    bad_state = {"lines": "x", "source_id": 5, "has_items": "?", "last_total": "no", "started": "never"}
    for parser in (source, claude, aider):
        out = parser.parse(unit(src), Resume(10**9, dict(bad_state)))
        assert out.chats == []
        assert list(parser.discover([tmp_path / "nowhere", src.parent / "missing.jsonl"])) == []
