from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.model import ParseIssue, SourceUnit
from chasm.harvest.sources import copilot_vscode
from chasm.harvest.sources._vscode_chat import ReplayError, apply_operation, replay_log

SRC = copilot_vscode.source
P = "copilot-vscode"
SIMPLE_ID = "331fed7f-cfd6-409c-8502-06a56322b636"


def parse_file(path: Path) -> object:
    return SRC.parse(SourceUnit(key=str(path), paths=[path]))


# (file, chats, messages, source id, first user text)
EXPECTED = [
    ("gitai_chatSessions_copilot_session_simple.json", 1, 6, SIMPLE_ID, "What can you help me with?"),
    ("gitai_chatSessions_copilot_session_simple.jsonl", 1, 6, SIMPLE_ID, "What can you help me with?"),
    (
        "gitai_chatSessions_copilot_session_multiline.jsonl",
        1,
        4,
        "7de89a80-6d93-43e7-be0a-0a9afe980198",
        "Add a joke about 7sadfh32u23gdaWF to jokes.csv",
    ),
    (
        "gitai_chatSessions_copilot_session_empty_then_patched.jsonl",
        1,
        2,
        "gitai_chatSessions_copilot_session_empty_then_patched",
        "What is the meaning of life?",
    ),
    (
        "gitai_GitHub.copilot-chat_transcripts_event_stream.jsonl",
        1,
        3,
        "5fcddc54-3ba1-4fc4-88ac-86bd2ce74c19",
        "Add a comment to the file",
    ),
    ("gitai_GitHub.copilot-chat_transcripts_test-session-abc.jsonl", 1, 2, "test-session-abc", "Fix the bug"),
]


@pytest.mark.parametrize(("name", "chats", "messages", "chat_id", "first"), EXPECTED)
def test_every_fixture(name: str, chats: int, messages: int, chat_id: str, first: str) -> None:
    outcome = SRC.parse(SourceUnit(key=name, paths=[fixture(P, name)]))
    assert not outcome.issues
    assert len(outcome.chats) == chats
    chat = outcome.chats[0]
    assert chat.provider == "copilot-vscode"
    assert len(chat.messages) == messages
    assert chat.source_id == chat_id
    assert chat.messages[0].role == "user" and chat.messages[0].content == first


def test_json_session_details() -> None:
    chat = only_chat(
        SRC.parse(SourceUnit(key="x", paths=[fixture(P, "gitai_chatSessions_copilot_session_simple.json")]))
    )
    assert chat.title == "Assistance with TypeScript project tasks"
    assert chat.model == "copilot/claude-sonnet-4"
    assert chat.created_at == datetime(2025, 10, 7, 13, 50, 46, 680000, tzinfo=UTC)
    assert chat.updated_at == datetime(2025, 10, 7, 15, 15, 50, 757000, tzinfo=UTC)
    assert roles(chat) == ["user", "assistant"] * 3
    first_user, first_answer = chat.messages[0], chat.messages[1]
    assert first_user.timestamp == datetime(2025, 10, 7, 13, 51, 13, 835000, tzinfo=UTC)
    assert first_user.source_id == "request_5db7fb17-1726-48b4-b737-c0cb4c97caa8"
    # The inline file reference is shown by name, between the surrounding markdown parts.
    assert "TypeScript project with an `index.ts` file that prints" in first_answer.content
    assert first_answer.model == "copilot/claude-sonnet-4"
    # Response time = request time + totalElapsed (12361 ms).
    assert first_answer.timestamp == datetime(2025, 10, 7, 13, 51, 26, 196000, tzinfo=UTC)
    edit = chat.messages[3]
    assert edit.content.startswith('I\'ll change "Bonjour World" to "hello world"')
    [call] = edit.tool_calls
    assert call.name == "replace_string_in_file"
    assert call.id == "toolu_vrtx_01UAL9wRmnDUwNjStDn4qhne__vscode-1759845028970"
    assert call.input["filePath"] == "/Users/svarlamov/projects/testing-git/index.ts"
    assert "console.log('hello world');" in call.input["newString"]
    assert call.output is not None and call.output.startswith("The following files were successfully edited:")
    [grep] = chat.messages[5].tool_calls
    assert grep.name == "grep_search" and grep.input == {"query": "Bonjour", "isRegexp": False}
    assert grep.output is not None and grep.output.startswith("1 match")


def test_jsonl_snapshot_equals_json() -> None:
    plain = only_chat(parse_file(fixture(P, "gitai_chatSessions_copilot_session_simple.json")))  # type: ignore[arg-type]
    logged = only_chat(parse_file(fixture(P, "gitai_chatSessions_copilot_session_simple.jsonl")))  # type: ignore[arg-type]
    assert logged.messages == plain.messages
    assert logged.title == plain.title


def test_jsonl_appended_requests() -> None:
    chat = only_chat(parse_file(fixture(P, "gitai_chatSessions_copilot_session_multiline.jsonl")))  # type: ignore[arg-type]
    assert chat.title == "Adding a joke to jokes.csv file"
    assert chat.model == "copilot/gpt-4o"
    assert roles(chat) == ["user", "assistant", "user", "assistant"]
    # The second request came in a kind-2 push onto `requests`.
    assert chat.messages[2].content == "follow up message"
    assert chat.messages[2].timestamp == datetime(2026, 2, 8, 20, 43, 37, 96000, tzinfo=UTC)
    assert chat.messages[1].tool_calls[0].name == "read_file"
    assert chat.messages[1].tool_calls[0].output.startswith("```plaintext\nid,setup,punchline")  # type: ignore[union-attr]

    patched = only_chat(parse_file(fixture(P, "gitai_chatSessions_copilot_session_empty_then_patched.jsonl")))  # type: ignore[arg-type]
    assert [m.content for m in patched.messages] == [
        "What is the meaning of life?",
        "The meaning of life is 42.",
    ]


def test_event_stream_transcript() -> None:
    chat = only_chat(parse_file(fixture(P, "gitai_GitHub.copilot-chat_transcripts_event_stream.jsonl")))  # type: ignore[arg-type]
    assert chat.metadata["copilotVersion"] == "0.47.0"
    assert roles(chat) == ["user", "assistant", "assistant"]
    assert chat.messages[0].timestamp == datetime(2026, 5, 11, 23, 13, 12, 819000, tzinfo=UTC)
    read, patch = chat.messages[1], chat.messages[2]
    assert read.content == "I'll read the file first."
    assert read.tool_calls[0].name == "read_file"
    assert read.tool_calls[0].input == {
        "filePath": "/Users/test/project/src/main.ts",
        "startLine": 1,
        "endLine": 40,
    }
    assert read.tool_calls[0].is_error is False
    assert patch.tool_calls[0].name == "apply_patch"
    assert patch.tool_calls[0].input["explanation"] == "Add a comment."
    abc = only_chat(parse_file(fixture(P, "gitai_GitHub.copilot-chat_transcripts_test-session-abc.jsonl")))  # type: ignore[arg-type]
    # A tool that ran without an assistant message before it still shows, as the assistant's call.
    assert roles(abc) == ["user", "assistant"]
    assert abc.messages[1].tool_calls[0].id == "call_abc123"


def test_discover_real_layout_and_workspace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user = home / ".config" / "Code" / "User"
    ws = user / "workspaceStorage" / "0a1b2c"
    ws.mkdir(parents=True)
    (ws / "workspace.json").write_text(json.dumps({"folder": "file:///home/me/my%20project"}))
    place(
        fixture(P, "gitai_chatSessions_copilot_session_simple.json"),
        ws / "chatSessions" / f"{SIMPLE_ID}.json",
    )
    place(fixture(P, "gitai_chatSessions_copilot_session_multiline.jsonl"), ws / "chatSessions" / "m.jsonl")
    transcripts = ws / "GitHub.copilot-chat" / "transcripts"
    place(
        fixture(P, "gitai_GitHub.copilot-chat_transcripts_test-session-abc.jsonl"),
        transcripts / "test-session-abc.jsonl",
    )
    # The same session as a chatSessions file: that one wins, no second chat.
    place(
        fixture(P, "gitai_GitHub.copilot-chat_transcripts_event_stream.jsonl"),
        transcripts / f"{SIMPLE_ID}.jsonl",
    )
    empty = user / "globalStorage" / "emptyWindowChatSessions"
    place(fixture(P, "gitai_chatSessions_copilot_session_empty_then_patched.jsonl"), empty / "e1.jsonl")
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert user in roots
    units, outcomes = parse_all(SRC, *roots)
    assert sorted(Path(u.key).name for u in units) == sorted(
        [f"{SIMPLE_ID}.json", "m.jsonl", "test-session-abc.jsonl", "e1.jsonl"]
    )
    by_id = {c.source_id: c for o in outcomes for c in o.chats}
    assert set(by_id) == {SIMPLE_ID, "7de89a80-6d93-43e7-be0a-0a9afe980198", "test-session-abc", "e1"}
    assert by_id[SIMPLE_ID].workspace_path == "/home/me/my project"
    assert by_id["test-session-abc"].workspace_path == "/home/me/my project"
    assert by_id["e1"].workspace_path is None
    transcript_unit = next(u for u in units if u.key.endswith("test-session-abc.jsonl"))
    assert transcript_unit.resumable and transcript_unit.paths[1] == ws / "workspace.json"
    session_unit = next(u for u in units if u.key.endswith(".json"))
    assert ws / "workspace.json" in session_unit.paths


def test_default_roots_per_platform(tmp_path: Path) -> None:
    home = tmp_path
    mac = SRC.default_roots("darwin", home, {})
    assert home / "Library" / "Application Support" / "Code" / "User" in mac
    assert home / "Library" / "Application Support" / "Code - Insiders" / "User" in mac
    win = SRC.default_roots("win32", home, {"APPDATA": str(tmp_path / "Roaming")})
    assert tmp_path / "Roaming" / "VSCodium" / "User" in win
    assert home / "AppData" / "Roaming" / "Code" / "User" in SRC.default_roots("win32", home, {})


def test_corrupt_log_line_is_an_issue_and_the_rest_parses(tmp_path: Path) -> None:
    lines = fixture(P, "gitai_chatSessions_copilot_session_multiline.jsonl").read_bytes().split(b"\n")
    lines.insert(1, b'{"kind": 1, "k": ["inputState", broken')
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\n".join(lines))
    outcome = parse_file(path)
    assert [(i.line, i.message.startswith("invalid JSON")) for i in outcome.issues] == [(2, True)]  # type: ignore[attr-defined]
    assert len(outcome.chats[0].messages) == 4  # type: ignore[attr-defined]


def test_corrupt_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    outcome = parse_file(path)
    assert outcome.chats == [] and len(outcome.issues) == 1  # type: ignore[attr-defined]


def test_replay_set_push_delete_on_nested_paths() -> None:
    state = apply_operation(None, {"kind": 0, "v": {"requests": [], "meta": {"a": {"b": 1}}}})
    state = apply_operation(
        state, {"kind": 2, "k": ["requests"], "v": [{"id": 1, "response": []}, {"id": 2}]}
    )
    state = apply_operation(state, {"kind": 1, "k": ["meta", "a", "b"], "v": 5})
    state = apply_operation(state, {"kind": 2, "k": ["requests", 0, "response"], "v": ["x", "y", "z"]})
    # A push with `i` first truncates the array to that length (a response being rewritten).
    state = apply_operation(state, {"kind": 2, "k": ["requests", 0, "response"], "v": ["Y"], "i": 1})
    state = apply_operation(state, {"kind": 1, "k": ["requests", 1, "title"], "v": "t"})
    state = apply_operation(state, {"kind": 3, "k": ["meta", "a"]})
    assert state == {"requests": [{"id": 1, "response": ["x", "Y"]}, {"id": 2, "title": "t"}], "meta": {}}
    state = apply_operation(state, {"kind": 3, "k": ["requests", 0]})
    assert state["requests"] == [{"id": 2, "title": "t"}]
    state = apply_operation(state, {"kind": 2, "k": ["requests"], "i": 0})
    assert state["requests"] == []
    state = apply_operation(state, {"kind": 1, "k": [], "v": {"fresh": True}})
    assert state == {"fresh": True}
    with pytest.raises(ReplayError):
        apply_operation(state, {"kind": 1, "k": ["missing", "x"], "v": 1})
    with pytest.raises(ReplayError):
        apply_operation(state, {"kind": 2, "k": ["fresh"], "v": [1]})
    with pytest.raises(ReplayError):
        apply_operation(None, {"kind": 1, "k": ["a"], "v": 1})


def test_replay_log_keeps_going_after_a_bad_operation() -> None:
    issues: list[ParseIssue] = []
    lines = [
        b'{"kind": 0, "v": {"requests": [1]}}',
        b'{"kind": 2, "k": ["requests"], "v": [2], "i": 9}',
        b'{"kind": 2, "k": ["requests"], "v": [3]}',
        b"",
        b'{"kind": 7, "k": []}',
    ]
    assert replay_log(lines, "f", issues) == {"requests": [1, 3]}
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [
        (2, "cannot apply operation"),
        (5, "cannot apply operation"),
    ]


def test_legacy_interactive_sessions_in_state_db(tmp_path: Path) -> None:
    import sqlite3

    ws = tmp_path / "User" / "workspaceStorage" / "old"
    ws.mkdir(parents=True)
    (ws / "workspace.json").write_text(json.dumps({"folder": "file:///srv/app"}))
    session = json.loads(fixture(P, "gitai_chatSessions_copilot_session_simple.json").read_text())
    conn = sqlite3.connect(ws / "state.vscdb")
    conn.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    conn.execute(
        "INSERT INTO ItemTable VALUES ('interactive.sessions', ?)", (json.dumps([session, {"requests": []}]),)
    )
    conn.commit()
    conn.close()
    units, outcomes = parse_all(SRC, tmp_path / "User")
    assert [u.paths for u in units] == [[ws / "state.vscdb", ws / "workspace.json"]]
    chat = only_chat(outcomes[0])
    assert chat.source_id == SIMPLE_ID and len(chat.messages) == 6
    assert chat.workspace_path == "/srv/app" and chat.metadata["format"] == "interactive-session"
