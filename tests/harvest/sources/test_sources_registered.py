"""Every built-in source that scans default folders: registered, with roots on every platform, and
quiet on missing roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from chasm.harvest import registry
from chasm.harvest.spec import HarvestSource

NAMES = [
    "claude-code",
    "codex",
    "gemini-cli",
    "amp",
    "droid",
    "copilot-vscode",
    "copilot-cli",
    "cursor",
    "cline",
    "roo-code",
    "continue",
    "opencode",
    "windsurf",
]


@pytest.mark.parametrize("name", NAMES)
def test_registered_and_safe_on_missing_roots(name: str, tmp_path: Path) -> None:
    source = registry.get_registry(reload=True).get(name)
    assert isinstance(source, HarvestSource)
    assert source.name == name and source.display_name and source.opt_in is False
    home = tmp_path / "home"
    for platform in ("linux", "darwin", "win32"):
        roots = source.default_roots(platform, home, {"HOME": str(home)})
        assert roots and all(isinstance(r, Path) for r in roots)
        assert list(source.discover(roots)) == []
    assert list(source.discover([tmp_path / "missing", tmp_path])) == []
