from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.sources import roo_code

SRC = roo_code.source
TASK_ID = "5f1c2a9e-8d3b-4c1e-9a7f-0b2d4e6f8a10"


def _roo_task(folder: Path) -> None:
    """A Roo task folder: Cline's format plus `ts` on messages and history_item.json."""
    folder.mkdir(parents=True)
    history = [
        {
            "role": "user",
            "ts": 1750000000000,
            "content": [
                {"type": "text", "text": "<task>\nRename foo to bar\n</task>"},
                {
                    "type": "text",
                    "text": "<environment_details>\n# Workspace (/x)\n</environment_details>",
                },
            ],
        },
        {
            "role": "assistant",
            "ts": 1750000002000,
            "content": [
                {"type": "text", "text": "Searching first."},
                {"type": "tool_use", "id": "tu_1", "name": "search_files", "input": {"regex": "foo"}},
            ],
        },
        {
            "role": "user",
            "ts": 1750000003000,
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "tu_1",
                    "content": [{"type": "text", "text": "a.py:1: foo"}],
                },
                {"type": "text", "text": "<environment_details>\n...\n</environment_details>"},
            ],
        },
        {
            "role": "assistant",
            "ts": 1750000004000,
            "content": [{"type": "tool_use", "id": "tu_2", "name": "apply_diff", "input": {"path": "a.py"}}],
        },
        {
            "role": "user",
            "ts": 1750000005000,
            "content": [
                {"type": "tool_result", "tool_use_id": "tu_2", "content": "denied", "is_error": True}
            ],
        },
        {"role": "assistant", "ts": 1750000006000, "content": [{"type": "text", "text": "Done."}]},
    ]
    ui = [
        {"ts": 1750000000000, "type": "say", "say": "text", "text": "Rename foo to bar"},
        {
            "ts": 1750000001000,
            "type": "say",
            "say": "api_req_started",
            "text": json.dumps(
                {"tokensIn": 100, "tokensOut": 20, "cacheReads": 5, "cacheWrites": 7, "cost": 0.01}
            ),
        },
        {"ts": 1750000002000, "type": "say", "say": "text", "text": "Searching first."},
        {
            "ts": 1750000003500,
            "type": "say",
            "say": "api_req_started",
            "text": json.dumps({"tokensIn": 200, "tokensOut": 30, "cost": 0.02}),
        },
        {"ts": 1750000005500, "type": "say", "say": "api_req_started", "text": "not json"},
        {"ts": 1750000006000, "type": "say", "say": "completion_result", "text": "Done."},
    ]
    item = {"id": TASK_ID, "ts": 1750000000000, "task": "Rename foo to bar", "workspace": "/home/me/proj"}
    (folder / "api_conversation_history.json").write_text(json.dumps(history))
    (folder / "ui_messages.json").write_text(json.dumps(ui))
    (folder / "history_item.json").write_text(json.dumps(item))


def test_roo_task(tmp_path: Path) -> None:
    home = tmp_path / "home"
    storage = home / ".config" / "Code" / "User" / "globalStorage" / "rooveterinaryinc.roo-cline"
    _roo_task(storage / "tasks" / TASK_ID)
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert storage in roots
    units, outcomes = parse_all(SRC, *roots)
    [unit] = units
    assert [p.name for p in unit.paths] == [
        "api_conversation_history.json",
        "ui_messages.json",
        "history_item.json",
    ]
    [outcome] = outcomes
    assert [i.message for i in outcome.issues] == ["bad api_req_started"]
    chat = outcome.chats[0]
    assert chat.provider == "roo-code" and chat.source_id == TASK_ID
    assert chat.workspace_path == "/home/me/proj" and chat.title == "Rename foo to bar"
    assert roles(chat) == ["user", "assistant", "assistant", "assistant"]
    assert chat.messages[0].content == "Rename foo to bar"
    # Roo's own `ts` wins over the panel record.
    assert chat.messages[1].timestamp == datetime.fromtimestamp(1750000002, tz=UTC)
    search = chat.messages[1]
    assert search.usage is not None
    assert (search.usage.input_tokens, search.usage.output_tokens, search.usage.cache_read_tokens) == (
        100,
        20,
        5,
    )
    assert search.usage.cache_write_tokens == 7 and search.metadata["cost"] == 0.01
    [call] = search.tool_calls
    assert (call.name, call.id, call.input, call.output, call.is_error) == (
        "search_files",
        "tu_1",
        {"regex": "foo"},
        "a.py:1: foo",
        False,
    )
    denied = chat.messages[2].tool_calls[0]
    assert denied.output == "denied" and denied.is_error is True
    assert chat.metadata["cost"] == 0.03


def test_roo_reads_the_cline_fixture_the_same_way(tmp_path: Path) -> None:
    folder = place(fixture("cline", "gmfstu_tasks_1769053680585"), tmp_path / "tasks" / "t1")
    [unit] = list(SRC.discover([tmp_path]))
    chat = only_chat(SRC.parse(unit))
    assert chat.provider == "roo-code" and chat.source_id == "t1" and len(chat.messages) == 48
    assert folder.name == "t1"
