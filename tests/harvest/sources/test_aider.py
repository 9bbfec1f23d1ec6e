from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from source_helpers import copy, fixture, unit

from chasm.harvest.model import Resume
from chasm.harvest.sources.aider import source

P = "aider"


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").astimezone().astimezone(UTC)


def test_large_history() -> None:
    out = source.parse(unit(fixture(P, "aider-repo_tests_fixtures_chat-history.trimmed.md")))
    assert not out.issues
    assert len(out.chats) == 31
    assert sum(len(c.messages) for c in out.chats) == 450
    first = out.chats[0]
    assert first.created_at == local("2024-08-05 19:33:32")
    assert first.model == "claude-3-5-sonnet-20240620"
    user = next(m for m in first.messages if m.role == "user")
    assert user.content == "Use the Spinner instead of the inlined custom spinner"
    reply = first.messages[first.messages.index(user) + 1]
    assert reply.role == "assistant" and reply.content.startswith(
        "Certainly! I'll modify the `run_install` function"
    )
    usages = [m.usage for c in out.chats for m in c.messages if m.usage]
    assert usages and (usages[0].input_tokens, usages[0].output_tokens) == (5244, 604)
    assert first.workspace_path == str(fixture(P, "x").parent)


def test_small_history_skips_banner_only_sessions(tmp_path: Path) -> None:
    out = source.parse(unit(fixture(P, "zen-mcp-server_.aider.chat.history.md")))
    assert len(out.chats) == 2 and sum(len(c.messages) for c in out.chats) == 18
    assert [c.created_at for c in out.chats] == [local("2025-10-20 21:49:22"), local("2025-10-23 17:04:56")]
    assert out.chats[0].model == "gemini/gemini-2.5-pro-preview-06-05"
    assert [m.role for m in out.chats[0].messages] == ["system", "user", "system"]
    assert out.chats[0].messages[1].content == "/add **"


def test_discover_and_resume(tmp_path: Path) -> None:
    repo = tmp_path / "code" / "zen"
    target = copy(fixture(P, "zen-mcp-server_.aider.chat.history.md"), repo / ".aider.chat.history.md")
    (repo / ".aider.input.history").write_text("x")
    assert source.opt_in and source.default_roots("linux", tmp_path, {}) == []
    units = list(source.discover([tmp_path / "code"]))
    assert [u.key for u in units] == [str(target)]
    first = source.parse(units[0])
    assert first.resume is not None and first.resume.offset == target.stat().st_size
    with open(target, "a") as f:
        f.write("#### and one more question  \n\nThe answer.  \n\n> Tokens: 1,000 sent, 20 received.  \n")
        f.write("\n# aider chat started at 2025-10-24 08:00:00\n\n#### new session  \n\nHello.\n")
    more = source.parse(units[0], Resume(first.resume.offset, first.resume.state))
    assert [c.source_id for c in more.chats] == [first.chats[-1].source_id, more.chats[1].source_id]
    assert [m.content for m in more.chats[0].messages] == [
        "and one more question",
        "The answer.",
        "Tokens: 1,000 sent, 20 received.",
    ]
    assert more.chats[0].messages[1].usage is not None and more.chats[0].messages[1].usage.output_tokens == 20
    assert [m.content for m in more.chats[1].messages] == ["new session", "Hello."]
    assert source.parse(unit(tmp_path / "missing.md")).issues
    (tmp_path / "code" / "chat-history.md").write_text("# notes\n")
    assert len(list(source.discover([tmp_path / "code"]))) == 1  # other names only when configured as files
    renamed = copy(
        fixture(P, "zen-mcp-server_.aider.chat.history.md"), tmp_path / "elsewhere" / "my-history.md"
    )
    assert [u.key for u in source.discover([renamed])] == [str(renamed)]
