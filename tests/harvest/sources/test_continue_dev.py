from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.model import SourceUnit
from chasm.harvest.sources import continue_dev

SRC = continue_dev.source
NAME = "gitai_continue-cli-session-simple.json"
SESSION = "2dbfd673-096d-4773-b5f3-9023894a7355"


def test_cli_session_fixture() -> None:
    path = fixture("continue", NAME)
    chat = only_chat(SRC.parse(SourceUnit(key=str(path), paths=[path])))
    assert chat.provider == "continue" and chat.source_id == SESSION
    assert chat.title == "File Reading and Appending"
    assert chat.workspace_path == "/Users/svarlamov/projects/testing-git"
    assert len(chat.messages) == 4
    assert roles(chat) == ["user", "assistant", "assistant", "assistant"]
    assert chat.messages[0].content == "Add another hello world line to @index.ts"
    read = chat.messages[1]
    assert read.content.startswith("I'll read the file first")
    [call] = read.tool_calls
    assert call.name == "Read" and call.id == "toolu_017kkmwnG8dAndW8zbtbsS4H"
    assert call.input == {"filepath": "/Users/svarlamov/projects/testing-git/index.ts"}
    assert call.output is not None and call.output.startswith(
        "Content of /Users/svarlamov/projects/testing-git/index.ts:"
    )
    edit = chat.messages[2].tool_calls[0]
    assert edit.name == "MultiEdit" and edit.input["file_path"].endswith("index.ts")
    assert edit.output is not None and edit.output.startswith("Successfully edited")
    assert (
        chat.messages[3].content == "Done! I've added another `console.log('hello world');` line to index.ts."
    )
    assert chat.metadata["usage"] == {
        "input_tokens": 1813,
        "output_tokens": 305,
        "cache_read_tokens": 4366,
        "cache_write_tokens": 2183,
    }
    assert chat.metadata["cost"] == 0.002423
    assert chat.updated_at is not None and chat.updated_at.tzinfo is not None


def test_discover_index_and_roots(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sessions = home / ".continue" / "sessions"
    place(fixture("continue", NAME), sessions / f"{SESSION}.json")
    index = [{"sessionId": SESSION, "title": "x", "dateCreated": "1770000000000", "workspaceDirectory": "/w"}]
    (sessions / "sessions.json").write_text(json.dumps(index))
    ide = {
        "sessionId": "ide-1",
        "title": "IDE chat",
        "workspaceDirectory": "file:///home/me/proj",
        "history": [
            {
                "message": {"role": "user", "content": [{"type": "text", "text": "explain"}]},
                "contextItems": [{"name": "a.py"}],
            },
            {"message": {"role": "thinking", "content": "hmm"}},
            {
                "message": {"role": "assistant", "content": "It adds."},
                "promptLogs": [{"modelTitle": "GPT-4o", "prompt": "p", "completion": "c"}],
            },
        ],
    }
    (sessions / "ide-1.json").write_text(json.dumps(ide))
    (sessions / "broken.json").write_text("{nope")
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert roots == [sessions]
    assert SRC.default_roots("win32", home, {"CONTINUE_GLOBAL_DIR": "D:/c"}) == [Path("D:/c") / "sessions"]
    units, outcomes = parse_all(SRC, *roots)
    assert sorted(Path(u.key).name for u in units) == sorted(["broken.json", f"{SESSION}.json", "ide-1.json"])
    chats = {c.source_id: c for o in outcomes for c in o.chats}
    issues = [i for o in outcomes for i in o.issues]
    assert len(issues) == 1 and issues[0].path.endswith("broken.json")
    assert chats[SESSION].created_at == datetime.fromtimestamp(1770000000, tz=UTC)
    ide_chat = chats["ide-1"]
    assert ide_chat.workspace_path == "/home/me/proj"
    assert ide_chat.model == "GPT-4o"
    assert ide_chat.messages[0].metadata["context"] == ["a.py"]
    assert ide_chat.messages[1].thinking == "hmm" and ide_chat.messages[1].model == "GPT-4o"
