"""The settings docs/sync.md and docs/search.md name exist (server settings or 001 Settings)."""

from __future__ import annotations

import re
from pathlib import Path

from chasm.config import Settings
from chasm.system.schemas import ChatSettingsDoc

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_the_docs_name_exists() -> None:
    known = set(Settings.model_fields) | set(ChatSettingsDoc.model_fields)
    named: set[str] = set()
    for page in ("sync.md", "search.md"):
        named |= set(re.findall(r"`((?:sync|semantic|encryption)_[a-z_]+)`", (DOCS / page).read_text()))
    assert named, "the pages name no settings"
    assert named <= known, named - known
