from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.model import SourceUnit
from chasm.harvest.sources import cursor

SRC = cursor.source
P = "cursor"
WS_HASH = "10770782bbd95d5ae0035836c987047a"
WS_DIR = f"chatrxiv_workspaceStorage_{WS_HASH}"
OVERVIEW = "ccf81227-6c73-40c6-ab57-b1fe9f328857"
COMMIT = "d7207816-5b45-4253-9288-d5b2c8f45dd5"
LOCATE = "8f8e9c3a-fa1b-4504-a9c4-b3f7a58a2698"


def parse(path: Path) -> object:
    return SRC.parse(SourceUnit(key=str(path), paths=[path]))


@pytest.mark.parametrize(
    ("name", "messages", "first", "tool_calls"),
    [
        ("agentsessions_cursor_cli_agent-transcript_large.jsonl", 8, "What files are here?", 2),
        ("agentsessions_cursor_cli_agent-transcript_test-session.jsonl", 6, "run ls command", 2),
        (
            "gitai_cursor_agent-transcript_session-simple.jsonl",
            11,
            "Generate a file with all the HBO shows from the 90's in it",
            10,
        ),
    ],
)
def test_every_transcript(name: str, messages: int, first: str, tool_calls: int) -> None:
    chat = only_chat(parse(fixture(P, name)))  # type: ignore[arg-type]
    assert chat.provider == "cursor" and chat.source_id == Path(name).stem
    assert len(chat.messages) == messages
    # The <user_query> wrapper Cursor adds around the prompt is not shown.
    assert chat.messages[0].role == "user" and chat.messages[0].content == first
    assert sum(len(m.tool_calls) for m in chat.messages) == tool_calls
    assert chat.updated_at is not None and chat.updated_at.tzinfo is not None


def test_transcript_tools_thinking_and_results() -> None:
    chat = only_chat(parse(fixture(P, "agentsessions_cursor_cli_agent-transcript_large.jsonl")))  # type: ignore[arg-type]
    assert roles(chat) == [
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]
    listing = chat.messages[1]
    assert listing.thinking == "Let me check the directory."
    assert listing.content == "I will list the files."
    [bash] = listing.tool_calls
    assert (bash.name, bash.input, bash.output) == ("Bash", {"command": "ls -la"}, "file1.txt\nfile2.txt")
    [read] = chat.messages[4].tool_calls
    assert (read.name, read.input, read.output) == ("Read", {"file_path": "file1.txt"}, "hello world")
    simple = only_chat(parse(fixture(P, "gitai_cursor_agent-transcript_session-simple.jsonl")))  # type: ignore[arg-type]
    assert [c.name for c in simple.messages[1].tool_calls] == ["Read", "WebSearch"]
    assert simple.messages[1].tool_calls[1].input["search_term"] == "HBO original series 1990s list complete"


def test_workspace_database_prompts_by_composer() -> None:
    outcome = parse(fixture(P, f"{WS_DIR}/state.vscdb"))
    assert not outcome.issues  # type: ignore[attr-defined]
    chats = {c.source_id: c for c in outcome.chats}  # type: ignore[attr-defined]
    assert set(chats) == {OVERVIEW, COMMIT, LOCATE}
    assert sum(len(c.messages) for c in chats.values()) == 11
    overview = chats[OVERVIEW]
    assert overview.title == "Overview of the Codebase"
    assert overview.workspace_path == "/Users/testmacbook/cursor_chats"
    assert overview.created_at == datetime(2025, 3, 21, 4, 20, 29, 580000, tzinfo=UTC)
    assert overview.metadata["prompts_only"] is True
    assert [m.content for m in overview.messages][:2] == [
        "tell me about this codebase",
        "suggest a better organization and also write some tests",
    ]
    assert overview.messages[0].timestamp == datetime(2025, 3, 21, 4, 22, 29, 974000, tzinfo=UTC)
    assert [m.content for m in chats[COMMIT].messages] == ["help me commit all this and push to my remote"]
    assert len(chats[LOCATE].messages) == 5
    assert all(m.role == "user" for c in chats.values() for m in c.messages)


def _kv_database(path: Path, rows: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    conn.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    conn.executemany(
        "INSERT INTO cursorDiskKV VALUES (?, ?)", [(k, json.dumps(v).encode()) for k, v in rows.items()]
    )
    conn.execute("INSERT INTO cursorDiskKV VALUES ('composerData:broken', 'not json')")
    conn.commit()
    conn.close()


def _global_rows() -> dict[str, object]:
    return {
        f"composerData:{OVERVIEW}": {
            "_v": 10,
            "composerId": OVERVIEW,
            "name": "Overview of the Codebase",
            "createdAt": 1742530829580,
            "lastUpdatedAt": 1742531313961,
            "modelConfig": {"modelName": "claude-3.7-sonnet"},
            "fullConversationHeadersOnly": [
                {"bubbleId": "b1", "type": 1},
                {"bubbleId": "b2", "type": 2},
                {"bubbleId": "b3", "type": 2},
                {"bubbleId": "missing", "type": 2},
            ],
        },
        f"bubbleId:{OVERVIEW}:b1": {"bubbleId": "b1", "type": 1, "text": "tell me about this codebase"},
        f"bubbleId:{OVERVIEW}:b2": {
            "bubbleId": "b2",
            "type": 2,
            "text": "",
            "toolFormerData": {
                "name": "read_file",
                "params": '{"path": "README.md"}',
                "result": '{"contents": "# hi"}',
                "status": "completed",
            },
            "thinking": {"text": "Reading the readme."},
        },
        f"bubbleId:{OVERVIEW}:b3": {
            "bubbleId": "b3",
            "type": 2,
            "text": "It is a chat extractor.",
            "createdAt": "2025-03-21T04:23:00.000Z",
            "tokenCount": {"inputTokens": 1200, "outputTokens": 80},
        },
        "composerData:old-inline": {
            "composerId": "old-inline",
            "createdAt": 1700000000000,
            "conversation": [
                {"bubbleId": "u", "type": 1, "text": "hello"},
                {"bubbleId": "a", "type": 2, "text": "hi there"},
                {"bubbleId": "empty", "type": 2, "text": ""},
            ],
        },
        # A key that only shares the prefix of another composer's bubbles is not mixed in.
        f"bubbleId:{OVERVIEW}x:zz": {"bubbleId": "zz", "type": 1, "text": "other"},
    }


def test_global_database_composers_and_bubbles(tmp_path: Path) -> None:
    user = tmp_path / "Cursor" / "User"
    _kv_database(user / "globalStorage" / "state.vscdb", _global_rows())
    place(fixture(P, WS_DIR), user / "workspaceStorage" / WS_HASH)
    outcome = parse(user / "globalStorage" / "state.vscdb")
    assert [i.message for i in outcome.issues] == ["composerData:broken: value is not a JSON object"]  # type: ignore[attr-defined]
    chats = {c.source_id: c for c in outcome.chats}  # type: ignore[attr-defined]
    assert set(chats) == {OVERVIEW, "old-inline"}
    chat = chats[OVERVIEW]
    # The folder comes from the workspace database that lists this composer.
    assert chat.workspace_path == "/Users/testmacbook/cursor_chats"
    assert chat.model == "claude-3.7-sonnet" and chat.title == "Overview of the Codebase"
    assert roles(chat) == ["user", "assistant", "assistant"]
    tool = chat.messages[1]
    assert tool.thinking == "Reading the readme."
    [call] = tool.tool_calls
    assert (call.name, call.input, call.output) == ("read_file", {"path": "README.md"}, "# hi")
    answer = chat.messages[2]
    assert answer.content == "It is a chat extractor."
    assert answer.timestamp == datetime(2025, 3, 21, 4, 23, tzinfo=UTC)
    assert answer.usage is not None and (answer.usage.input_tokens, answer.usage.output_tokens) == (1200, 80)
    assert [m.content for m in chats["old-inline"].messages] == ["hello", "hi there"]

    # The workspace database now leaves the composer that the global one holds to it.
    workspace = parse(user / "workspaceStorage" / WS_HASH / "state.vscdb")
    assert sorted(c.source_id for c in workspace.chats) == sorted([COMMIT, LOCATE])  # type: ignore[attr-defined]


def _store(path: Path, meta: dict[str, object], blobs: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB)")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('0', ?)", (json.dumps(meta).encode().hex(),))
    conn.executemany("INSERT INTO blobs VALUES (?, ?)", [(f"h{i}", b) for i, b in enumerate(blobs)])
    conn.commit()
    conn.close()


def test_cli_store(tmp_path: Path) -> None:
    fixture_store = place(fixture(P, "agentsessions_cursor_cli_chats_store.db"), tmp_path / "a" / "store.db")
    chat = only_chat(parse(fixture_store))  # type: ignore[arg-type]
    assert chat.source_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert chat.title == "Test Session" and chat.model == "claude-4-sonnet"
    assert chat.created_at == datetime(2026, 4, 7, 0, 43, 10, 321000, tzinfo=UTC)
    assert chat.messages == []  # the fixture has no blobs

    made = tmp_path / "b" / "store.db"
    _store(
        made,
        {"agentId": "agent-1", "name": "Listing", "createdAt": 1775522590321, "lastUsedModel": "gpt-5"},
        [
            json.dumps({"role": "system", "content": "You are Cursor."}).encode(),
            json.dumps(
                {"role": "user", "content": [{"type": "text", "text": "<user_query>\nls\n</user_query>"}]}
            ).encode(),
            b"\x0a\x20binary-tree-node",
            json.dumps(
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Listing."},
                        {
                            "type": "tool-call",
                            "toolCallId": "c1",
                            "toolName": "Shell",
                            "args": {"command": "ls"},
                        },
                    ],
                }
            ).encode(),
            json.dumps(
                {"role": "tool", "content": [{"type": "tool-result", "toolCallId": "c1", "result": "a\nb"}]}
            ).encode(),
        ],
    )
    chat = only_chat(parse(made))  # type: ignore[arg-type]
    assert roles(chat) == ["user", "assistant"]
    assert chat.messages[0].content == "ls"
    [call] = chat.messages[1].tool_calls
    assert (call.name, call.id, call.input, call.output) == ("Shell", "c1", {"command": "ls"}, "a\nb")
    assert chat.messages[1].model == "gpt-5"


def test_corrupt_inputs(tmp_path: Path) -> None:
    bad_db = tmp_path / "ws" / "state.vscdb"
    bad_db.parent.mkdir()
    bad_db.write_bytes(b"this is not a database at all" * 100)
    outcome = parse(bad_db)
    assert outcome.chats == [] and len(outcome.issues) == 1  # type: ignore[attr-defined]
    lines = (
        fixture(P, "agentsessions_cursor_cli_agent-transcript_large.jsonl")
        .read_bytes()
        .splitlines(keepends=True)
    )
    lines[4] = b'{"role": "user", broken\n'
    transcript = tmp_path / "t.jsonl"
    transcript.write_bytes(b"".join(lines))
    outcome = parse(transcript)
    assert [(i.line, i.message.startswith("invalid JSON")) for i in outcome.issues] == [(5, True)]  # type: ignore[attr-defined]
    assert len(outcome.chats[0].messages) == 7  # type: ignore[attr-defined]


def test_discover_real_layout(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user = home / ".config" / "Cursor" / "User"
    _kv_database(user / "globalStorage" / "state.vscdb", _global_rows())
    place(fixture(P, WS_DIR), user / "workspaceStorage" / WS_HASH)
    place(
        fixture(P, "agentsessions_cursor_cli_chats_store.db"),
        home / ".cursor" / "chats" / "d41d8cd9" / "agent-1" / "store.db",
    )
    transcripts = home / ".cursor" / "projects" / "Users-me-proj" / "agent-transcripts"
    place(fixture(P, "agentsessions_cursor_cli_agent-transcript_large.jsonl"), transcripts / "t1.jsonl")
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert roots == [user, home / ".cursor"]
    assert (
        SRC.default_roots("darwin", home, {})[0]
        == home / "Library" / "Application Support" / "Cursor" / "User"
    )
    assert SRC.default_roots("win32", home, {"APPDATA": "C:/R"})[0] == Path("C:/R") / "Cursor" / "User"
    units, outcomes = parse_all(SRC, *roots)
    assert len(units) == 4
    workspace_unit = next(u for u in units if WS_HASH in u.key)
    assert [p.name for p in workspace_unit.paths] == ["state.vscdb", "workspace.json", "state.vscdb"]
    chats = {c.source_id: c for o in outcomes for c in o.chats}
    assert set(chats) == {
        OVERVIEW,
        "old-inline",
        COMMIT,
        LOCATE,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "t1",
    }
    assert chats["t1"].workspace_name == "Users-me-proj"
