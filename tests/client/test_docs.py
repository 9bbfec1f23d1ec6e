"""docs/client.md's examples run as written, in order, against a live server (its URL and key in
CHASM_URL and CHASM_API_KEY, as a reader's shell would have them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from client.conftest import ServerThread

pytestmark = pytest.mark.sandbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_page_has_examples_of_each_promise() -> None:
    code = "\n".join(block for _, block in blocks())
    for call in (
        "sandboxes.create(",
        "commands.run(",
        "background=True",
        "files.write(",
        "files.read(",
        "pty.connect(",
        "chats.search(",
        "AsyncChasm",
    ):
        assert call in code, call


def test_examples_run(
    live_server: ServerThread, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHASM_URL", live_server.url)
    monkeypatch.setenv("CHASM_API_KEY", live_server.key)
    for line, block in blocks():
        exec(compile(block, f"{DOC}:{line}", "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out
    assert "hello from Linux" in printed and "stdout fetch" in printed
    assert "<mark>" in printed  # a highlighted search snippet
