"""docs/configuration.md names every setting, as config.py has it today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from chasm.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    spec = importlib.util.spec_from_file_location("config_docs", ROOT / "scripts" / "config_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`CHASM_{name.upper()}`" not in page]
    assert not missing, f"not in docs/configuration.md: {missing}"
    assert page == module.render(), "docs/configuration.md is stale: uv run python scripts/config_docs.py"
