"""The docs name the browser settings and flags that exist."""

from __future__ import annotations

import re
from pathlib import Path

from chasm.config import Settings
from chasm.sandbox.browsers import FLAGS

DOCS = Path(__file__).parents[2] / "docs"


def test_every_browser_setting_is_documented_and_exists() -> None:
    text = (DOCS / "sandboxes.md").read_text() + (DOCS / "api.md").read_text()
    named = {s.removeprefix("CHASM_").lower() for s in re.findall(r"CHASM_BROWSER_[A-Z_]+", text)}
    fields = {name for name in Settings.model_fields if name.startswith("browser_")}
    assert named == fields


def test_the_chromium_flags_are_documented() -> None:
    text = " ".join((DOCS / "sandboxes.md").read_text().split())
    for flag in FLAGS:
        if flag.startswith(
            ("--password-store", "--use-mock-keychain", "--disable-crash-reporter", "--no-default")
        ):
            continue  # quiet defaults, not a design choice
        assert flag in text, flag
