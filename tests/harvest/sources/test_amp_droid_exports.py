from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from source_helpers import copy, corrupt_line, fixture, only_chat, unit

from chasm.harvest.sources.amp import source as amp
from chasm.harvest.sources.chatgpt_export import source as chatgpt
from chasm.harvest.sources.claude_ai_export import source as claude_ai
from chasm.harvest.sources.droid import source as droid


@pytest.mark.parametrize(
    ("name", "messages", "title", "text"),
    [
        (
            "gitai_T-019ca1ce-3ae2-7686-a41e-ccc078837f8a.json",
            4,
            "Add jokes CLI with CSV data source",
            "Create a plan to add a jokes.csv",
        ),
        (
            "gitai_T-019ca1f6-7f21-77b5-a308-65416ebbdf48.json",
            4,
            "Read jokes CSV and append new row",
            "Read jokes.csv and append one new joke row",
        ),
    ],
)
def test_amp_fixtures(name: str, messages: int, title: str, text: str) -> None:
    chat = only_chat(amp.parse(unit(fixture("amp", name))))
    assert len(chat.messages) == messages and chat.title == title
    assert chat.messages[0].role == "user" and chat.messages[0].content.startswith(text)
    assert chat.workspace_path == "/Users/svarlamov/projects/testing-git-amp"
    assert chat.model == "claude-opus-4-6"
    assert chat.source_id == name.removeprefix("gitai_").removesuffix(".json")


def test_amp_details(tmp_path: Path) -> None:
    chat = only_chat(amp.parse(unit(fixture("amp", "gitai_T-019ca1ce-3ae2-7686-a41e-ccc078837f8a.json"))))
    assert chat.created_at == datetime.fromtimestamp(1772241173.221, UTC)
    reply = chat.messages[1]
    assert reply.thinking is not None and reply.thinking.startswith("The user wants me to create a plan")
    assert [c.name for c in reply.tool_calls] == ["Read", "Read", "Read"]
    assert reply.tool_calls[0].output is not None and reply.tool_calls[0].output.startswith(
        "1: id,setup,punchline"
    )
    assert reply.usage is not None and (reply.usage.input_tokens, reply.usage.output_tokens) == (3, 239)
    threads = tmp_path / ".local" / "share" / "amp" / "threads"
    copy(
        fixture("amp", "gitai_T-019ca1ce-3ae2-7686-a41e-ccc078837f8a.json"),
        threads / "T-019ca1ce-3ae2-7686-a41e-ccc078837f8a.json",
    )
    roots = amp.default_roots("linux", tmp_path, {})
    assert len(list(amp.discover(roots))) == 1
    (threads / "T-bad.json").write_text("[")
    assert amp.parse(unit(threads / "T-bad.json")).chats == []


def test_droid_fixture_and_discover(tmp_path: Path) -> None:
    sessions = tmp_path / ".factory" / "sessions" / "-Users-testuser-projects-testing-git"
    jsonl = copy(fixture("droid", "gitai_droid-session.jsonl"), sessions / "052cb8d0.jsonl")
    copy(fixture("droid", "gitai_droid-session.settings.json"), sessions / "052cb8d0.settings.json")
    units = list(droid.discover(droid.default_roots("win32", tmp_path, {})))
    assert len(units) == 1 and len(units[0].paths) == 2
    out = droid.parse(units[0])
    chat = only_chat(out)
    assert chat.source_id == "052cb8d0-4616-488a-99fe-bfbbbe9429b3"
    assert len(chat.messages) == 6
    assert chat.title == 'Update the first comment in @index.ts to "DROID3"'
    assert (
        chat.model == "custom:BYOK-GPT-5-MINI-0"
        and chat.workspace_path == "/Users/testuser/projects/testing-git"
    )
    assert chat.metadata["token_usage"]["inputTokens"] == 6743
    first_call = chat.messages[1].tool_calls[0]
    assert first_call.name == "Read" and first_call.output == "// DROID2\nconsole.log('Hello');\n"
    assert chat.messages[-1].content.startswith("# Update complete")
    assert chat.messages[0].timestamp == datetime(2026, 1, 28, 16, 57, 1, 391000, tzinfo=UTC)
    # Resume: append a message.
    assert out.resume is not None
    with open(jsonl, "ab") as f:
        f.write(
            b'{"type":"message","id":"m-new","timestamp":"2026-01-28T17:00:00Z","message":{"role":"user","content":[{"type":"text","text":"thanks"}]}}\n'
        )
    more = only_chat(droid.parse(units[0], out.resume))
    assert [m.content for m in more.messages] == ["thanks"] and more.source_id == chat.source_id
    bad = corrupt_line(jsonl, tmp_path / "bad.jsonl", 3)
    broken = droid.parse(unit(bad))
    assert [i.line for i in broken.issues] == [3] and len(broken.chats) == 1


@pytest.mark.parametrize(
    ("name", "chats", "messages", "title", "text"),
    [
        ("spark-first_conversations.trimmed.json", 9, 96, "New chat", "CTE in Redshift"),
        (
            "vsla_single-conversation_dynamic-dimension-algebra.json",
            1,
            4,
            "Dynamic-Dimension Algebra Review",
            "Peer Review this paper;",
        ),
        (
            "vsla_single-conversation_dynamic-two-history.json",
            1,
            4,
            "Dynamic-Dimension Algebra Paper",
            "Clean this up and make a canvas",
        ),
        (
            "vsla_single-conversation_v3-review.json",
            1,
            5,
            "VSLA v0.3 Paper Search",
            "Are you able to access the most recent",
        ),
    ],
)
def test_chatgpt_fixtures(name: str, chats: int, messages: int, title: str, text: str) -> None:
    out = chatgpt.parse(unit(fixture("chatgpt-export", name)))
    assert not out.issues and len(out.chats) == chats
    assert sum(len(c.messages) for c in out.chats) == messages
    assert out.chats[0].title == title
    assert out.chats[0].messages[0].role == "user" and out.chats[0].messages[0].content.startswith(text)


def test_chatgpt_details_and_branches(tmp_path: Path) -> None:
    chat = only_chat(
        chatgpt.parse(unit(fixture("chatgpt-export", "vsla_single-conversation_v3-review.json")))
    )
    assert chat.source_id == "687be062-2808-8002-bf15-85e0a74f50c9" and chat.model == "o3"
    call = chat.messages[1].tool_calls[0]
    assert call.name == "file_search.msearch" and call.input["intent"] == "nav"
    assert chat.messages[-1].role == "assistant" and chat.messages[-1].thinking == "Thought for a few seconds"
    assert chat.messages[0].timestamp == datetime.fromtimestamp(1752948833.991005, UTC)
    export = chatgpt.parse(unit(fixture("chatgpt-export", "spark-first_conversations.trimmed.json")))
    branched = [c for c in export.chats if "branches" in c.metadata]
    assert [c.title for c in branched] == ["Spark Email RegEx", "New chat"]
    assert all(b["messages"] for c in branched for b in c.metadata["branches"])
    regex = branched[0]
    parents = [b["parent"] for b in regex.metadata["branches"]]
    assert parents == ["cddabf0b-af50-4a7b-b870-108e24f54af1"] * 2  # two regenerated answers
    fork = next(i for i, m in enumerate(regex.messages) if m.source_id == parents[0])
    assert regex.messages[fork].role == "user"
    assert regex.messages[fork + 1].content.startswith("Both Avro and Parquet are popular columnar")
    alternates = [b["messages"][0] for b in regex.metadata["branches"]]
    assert [m["role"] for m in alternates] == ["assistant", "assistant"]
    assert alternates[0]["content"].startswith("Avro and Parquet are both popular file formats")
    export_dir = tmp_path / "export"
    copy(
        fixture("chatgpt-export", "spark-first_conversations.trimmed.json"), export_dir / "conversations.json"
    )
    copy(
        fixture("claude-ai-export", "yaleman_conversations.json"), tmp_path / "claude" / "conversations.json"
    )
    assert chatgpt.default_roots("linux", tmp_path, {}) == [] and chatgpt.opt_in
    assert [Path(u.key).parent.name for u in chatgpt.discover([tmp_path])] == ["export"]
    (export_dir / "broken.json").write_text('{"mapping": ')
    assert chatgpt.parse(unit(export_dir / "broken.json")).chats == []


def test_claude_ai_export(tmp_path: Path) -> None:
    folder = tmp_path / "claude-export"
    conv = copy(fixture("claude-ai-export", "yaleman_conversations.json"), folder / "conversations.json")
    copy(fixture("claude-ai-export", "yaleman_projects.json"), folder / "projects.json")
    copy(fixture("claude-ai-export", "yaleman_users.json"), folder / "users.json")
    copy(fixture("claude-ai-export", "yaleman_memories.json"), folder / "memories.json")
    units = list(claude_ai.discover([tmp_path]))
    assert len(units) == 1 and [p.name for p in units[0].paths] == ["conversations.json", "projects.json"]
    chat = only_chat(claude_ai.parse(units[0]))
    assert chat.source_id == "b49c0fc0-85d8-475c-bd2d-ee89f31f592c" and chat.title == "Bleep bloop"
    assert [m.role for m in chat.messages] == ["user", "assistant"]
    assert chat.messages[1].content.startswith("Dog saliva does contain some antibacterial compounds")
    assert chat.messages[1].thinking is not None and chat.messages[1].thinking.startswith(
        "The user is asking about"
    )
    assert chat.created_at == datetime(2025, 7, 6, 3, 10, 13, 76141, tzinfo=UTC)
    data = conv.read_text().replace(
        '"account"', '"project_uuid": "0197b0fe-90c6-74a5-9da9-aa92c7e1f841", "account"', 1
    )
    conv.write_text(data)
    assert only_chat(claude_ai.parse(units[0])).workspace_name == "How to use Claude"
    conv.write_text("[{]")
    assert claude_ai.parse(units[0]).chats == []
