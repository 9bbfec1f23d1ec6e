from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from source_helpers import fixture, parse_all, place, roles

from chasm.harvest.model import SourceUnit
from chasm.harvest.sources import opencode

SRC = opencode.source
P = "opencode"


def test_sqlite_fixture() -> None:
    path = fixture(P, "gitai_opencode-sqlite/opencode.db")
    outcome = SRC.parse(SourceUnit(key=str(path), paths=[path]))
    assert not outcome.issues
    [chat] = outcome.chats
    assert chat.provider == "opencode" and chat.source_id == "test-session-123"
    assert chat.title == "Test Session" and chat.parent_source_id == "parent-session-456"
    assert chat.workspace_path == "/Users/test/project"
    assert chat.model == "gpt-5"
    assert len(chat.messages) == 2 and roles(chat) == ["user", "assistant"]
    user, answer = chat.messages
    assert user.content == "Please update index.ts using sqlite transcript data"
    assert user.timestamp == datetime(2024, 1, 28, 16, 37, 10, tzinfo=UTC)
    assert answer.content == "I will make the edit from sqlite.\n\nDone from sqlite source."
    assert answer.source_id == "msg-assistant-sql-001" and answer.parent_source_id == "msg-user-sql-001"
    assert answer.usage is not None and (answer.usage.input_tokens, answer.usage.output_tokens) == (10, 20)
    [edit] = answer.tool_calls
    assert (edit.name, edit.id, edit.output) == ("edit", "call-sql-001", "Edit applied")
    assert edit.input["filePath"] == "/Users/test/project/index.ts"


def test_storage_tree_fixtures(tmp_path: Path) -> None:
    units, outcomes = parse_all(
        SRC, fixture(P, "gitai_opencode-storage"), fixture(P, "agentsessions_storage_v2")
    )
    assert not [i for o in outcomes for i in o.issues]
    chats = {c.source_id: c for o in outcomes for c in o.chats}
    assert {k: len(v.messages) for k, v in chats.items()} == {
        "test-session-123": 2,
        "s_stage0_large": 4,
        "s_stage0_small": 2,
    }
    gitai = chats["test-session-123"]
    assert (
        gitai.title == "Update the comment in index.ts to say 'Hello World'"
    )  # no session file: first prompt
    assert gitai.model == "claude-3-5-sonnet-20241022"
    answer = gitai.messages[1]
    # The empty synthetic part adds nothing.
    assert (
        answer.content
        == "I'll update the comment in index.ts for you.\n\nDone! I've updated the comment to 'Hello World'."
    )
    assert answer.tool_calls[0].output == "Edit applied successfully."
    assert answer.metadata["provider"] == "anthropic"

    large = chats["s_stage0_large"]
    assert large.title == "OpenCode Large" and large.workspace_path == "/tmp/large"
    assert large.created_at == datetime(2024, 10, 27, 3, 35, tzinfo=UTC)
    assert large.metadata["version"] == "1.3.17"
    assert [m.content for m in large.messages] == ["Step 1", "", "Step 2", "Ok"]
    failed = large.messages[1]
    assert failed.thinking == "Investigating failing command."
    assert failed.metadata["error"] == "The operation was aborted."
    assert failed.metadata["files"] == ["error.log"]
    [bash] = failed.tool_calls
    assert bash.input == {"command": "ls /non-existent-directory", "cwd": "/tmp/large"}
    assert bash.output == "ls: /non-existent-directory: No such file or directory\n"
    assert failed.usage is not None and failed.usage.input_tokens == 120
    small = chats["s_stage0_small"]
    assert [m.content for m in small.messages] == ["Hello", "Found 2 files."]
    # Every message and part file of a session is part of its unit.
    small_unit = next(u for u in units if u.key.endswith("s_stage0_small"))
    assert len(small_unit.paths) == 1 + 2 + 3


def test_real_layout_roots_and_corrupt_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = home / ".local" / "share" / "opencode"
    place(fixture(P, "gitai_opencode-sqlite/opencode.db"), data / "opencode.db")
    place(fixture(P, "agentsessions_storage_v2"), data / "storage")
    (data / "opencode-broken.db").write_bytes(b"garbage" * 200)
    (data / "storage" / "message" / "s_stage0_small" / "msg_0003.json").write_text("{bad")
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert roots == [data]
    assert SRC.default_roots("linux", home, {"XDG_DATA_HOME": "/x"}) == [Path("/x/opencode")]
    units, outcomes = parse_all(SRC, *roots)
    assert len(units) == 4
    issues = [i for o in outcomes for i in o.issues]
    assert sorted(Path(i.path).name for i in issues) == ["msg_0003.json", "opencode-broken.db"]
    chats = {c.source_id: len(c.messages) for o in outcomes for c in o.chats}
    assert chats == {"test-session-123": 2, "s_stage0_large": 4, "s_stage0_small": 2}
