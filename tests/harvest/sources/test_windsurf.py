from __future__ import annotations

from pathlib import Path

from source_helpers import fixture, only_chat, parse_all, place, roles

from chasm.harvest.model import SourceUnit
from chasm.harvest.sources import windsurf

SRC = windsurf.source
NAME = "gitai_windsurf_transcripts_session-simple.jsonl"


def _parse(path: Path) -> object:
    return SRC.parse(SourceUnit(key=str(path), paths=[path]))


def test_transcript_fixture() -> None:
    chat = only_chat(_parse(fixture("windsurf", NAME)))  # type: ignore[arg-type]
    assert chat.provider == "windsurf" and chat.source_id == NAME.removesuffix(".jsonl")
    assert len(chat.messages) == 11
    assert roles(chat).count("user") == 4
    assert chat.messages[0].content == "Write a song in @[xyz.md] "
    assert chat.title == "Write a song in @[xyz.md]"
    assert chat.workspace_path == "/Users/aidancunniffe/Desktop/testing-gitflows-git-ai"
    first = chat.messages[1]
    assert first.content == "I'll write a song in the xyz.md file for you."
    view, edit = first.tool_calls
    assert view.name == "view_file" and view.input["path"].endswith("xyz.md")
    assert view.output is not None and view.output.startswith('<file name="/Users/aidancunniffe')
    assert (
        edit.name == "code_action" and edit.output is not None and "The Code That Never Sleeps" in edit.output
    )
    assert sum(len(m.tool_calls) for m in chat.messages) == 18
    errors = [c for m in chat.messages for c in m.tool_calls if c.is_error]
    assert [c.name for c in errors] == ["list_resources"]
    commands = [c for m in chat.messages for c in m.tool_calls if c.name == "run_command"]
    assert commands[0].input["command"] == "git commit -a"


def test_corrupt_line_and_discover(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lines = fixture("windsurf", NAME).read_bytes().splitlines(keepends=True)
    lines[1] = b"{broken\n"
    transcripts = home / ".windsurf" / "transcripts"
    transcripts.mkdir(parents=True)
    (transcripts / "traj-1.jsonl").write_bytes(b"".join(lines))
    place(fixture("windsurf", NAME), transcripts / "traj-2.jsonl")
    roots = SRC.default_roots("linux", home, {"HOME": str(home)})
    assert roots == [transcripts] == SRC.default_roots("win32", home, {})
    units, outcomes = parse_all(SRC, *roots)
    assert [Path(u.key).name for u in units] == ["traj-1.jsonl", "traj-2.jsonl"]
    broken = outcomes[0]
    assert [(i.line, i.message.startswith("invalid JSON")) for i in broken.issues] == [(2, True)]
    assert len(broken.chats[0].messages) == 11  # the tools of the lost line start their own turn
    assert outcomes[1].chats[0].source_id == "traj-2"
