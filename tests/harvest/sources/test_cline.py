from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.sources import cline

SRC = cline.source
TASK = "gmfstu_tasks_1769053680585"


def _task_chat(folder: Path) -> object:
    [unit] = list(SRC.discover([folder]))
    return SRC.parse(unit)


def test_real_task_folder() -> None:
    chat = only_chat(_task_chat(fixture("cline", TASK)))  # type: ignore[arg-type]
    assert chat.provider == "cline" and chat.source_id == TASK
    assert len(chat.messages) == 48
    # Tool-result turns and Cline's injected context are not user messages.
    assert roles(chat) == ["user"] + ["assistant"] * 47
    assert chat.title is not None and chat.title.startswith("You have been given a Dockerized codebase")
    task = chat.messages[0]
    assert task.content.startswith("You have been given a Dockerized codebase for an unfinished 3D")
    assert "<task>" not in task.content and "environment_details" not in task.content
    assert task.timestamp == datetime(2026, 1, 22, 3, 48, 0, 628000, tzinfo=UTC)
    assert chat.workspace_path == "/workspaces/Online-Card-Architecture"
    assert chat.model == "claude-sonnet-4-5-20250929"
    assert chat.created_at == datetime(2026, 1, 22, 3, 48, 0, 628000, tzinfo=UTC)
    assert chat.updated_at == datetime(2026, 1, 22, 4, 31, 8, 961000, tzinfo=UTC)
    assert chat.metadata["cost"] == 1.054618
    assert chat.metadata["cline_version"] == "3.51.0"

    first = chat.messages[1]
    assert first.content.startswith("I'll help you secure and extend this multiplayer Unity card game")
    assert first.thinking is not None and first.thinking.startswith("This is a complex task")
    assert first.model == "claude-sonnet-4-5-20250929"
    # Usage and time of the first API request (ui_messages api_req_started).
    assert first.usage is not None
    assert (first.usage.input_tokens, first.usage.output_tokens) == (10, 595)
    assert (first.usage.cache_read_tokens, first.usage.cache_write_tokens) == (0, 9573)
    assert first.timestamp == datetime(2026, 1, 22, 3, 48, 2, 591000, tzinfo=UTC)
    [read] = first.tool_calls
    assert read.name == "read_file" and read.id == "toolu_01CKihH4pyy3kwdBibyp3nfV"
    assert read.input["path"] == "ActionSystem.cs"
    assert read.output is not None and read.output.startswith("using System;\nusing System.Collections;")

    assert sum(len(m.tool_calls) for m in chat.messages) == 47
    assert sum(m.usage.output_tokens for m in chat.messages if m.usage) == 23389
    # A command whose text holds "]" still gets its result.
    command = chat.messages[31].tool_calls[0]
    assert command.name == "execute_command"
    assert command.output is not None and command.output.startswith(
        "Command executed.\nOutput:\nbash: uuidgen"
    )
    last = chat.messages[47].tool_calls[0]
    assert last.name == "attempt_completion" and last.output is None


def test_discover_and_default_roots(tmp_path: Path) -> None:
    home = tmp_path / "home"
    storage = home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev"
    place(fixture("cline", TASK), storage / "tasks" / "1769053680585")
    (storage / "tasks" / "empty").mkdir()
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert storage in roots and home / ".cline" / "data" in roots
    assert (
        home
        / "Library"
        / "Application Support"
        / "Cursor"
        / "User"
        / "globalStorage"
        / "saoudrizwan.claude-dev"
        in SRC.default_roots("darwin", home, {})
    )
    assert Path(
        "C:/AppData"
    ) / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev" in SRC.default_roots(
        "win32", home, {"APPDATA": "C:/AppData"}
    )
    units, outcomes = parse_all(SRC, *roots)
    [unit] = units
    assert unit.key == str(storage / "tasks" / "1769053680585")
    assert [p.name for p in unit.paths] == [
        "api_conversation_history.json",
        "ui_messages.json",
        "task_metadata.json",
    ]
    assert outcomes[0].chats[0].source_id == "1769053680585"
    assert outcomes[0].chats[0].created_at == datetime(2026, 1, 22, 3, 48, 0, 628000, tzinfo=UTC)


def test_corrupt_history_falls_back_to_the_panel_record(tmp_path: Path) -> None:
    folder = place(fixture("cline", TASK), tmp_path / "tasks" / "1769053680585")
    (folder / "api_conversation_history.json").write_text('[{"role": "user", broken')
    outcome = _task_chat(folder)
    assert len(outcome.issues) == 1 and "api_conversation_history.json" in outcome.issues[0].path  # type: ignore[attr-defined]
    chat = outcome.chats[0]  # type: ignore[attr-defined]
    # ui_messages.json still gives the task and the answers that were shown.
    assert chat.messages[0].role == "user"
    assert chat.messages[0].content.startswith("You have been given a Dockerized codebase")
    assert {m.role for m in chat.messages} == {"user", "assistant"}
    assert len(chat.messages) == 9


def test_corrupt_ui_messages_keeps_the_history(tmp_path: Path) -> None:
    folder = place(fixture("cline", TASK), tmp_path / "t")
    (folder / "ui_messages.json").write_text("{oops")
    outcome = _task_chat(folder)
    assert len(outcome.issues) == 1  # type: ignore[attr-defined]
    assert len(outcome.chats[0].messages) == 48  # type: ignore[attr-defined]


def test_xml_style_results_without_calls_become_tool_messages(tmp_path: Path) -> None:
    folder = tmp_path / "tasks" / "1700000000000"
    folder.mkdir(parents=True)
    history = [
        {"role": "user", "content": [{"type": "text", "text": "<task>\nlist files\n</task>"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "<list_files><path>.</path></list_files>"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "[list_files for '.'] Result:\na.py"}]},
        {"role": "user", "content": [{"type": "text", "text": "<feedback>\nthanks\n</feedback>"}]},
    ]
    (folder / "api_conversation_history.json").write_text(json.dumps(history))
    chat = only_chat(_task_chat(folder))  # type: ignore[arg-type]
    assert roles(chat) == ["user", "assistant", "tool", "user"]
    assert [m.content for m in chat.messages] == [
        "list files",
        "<list_files><path>.</path></list_files>",
        "a.py",
        "thanks",
    ]
    assert chat.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # from the task id
