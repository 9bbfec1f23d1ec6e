"""Where the shared third-party fixtures are, resolved once for every test and benchmark:
`CHASM_FIXTURES` when set, else `shared/fixtures` beside the checkout, else /work/shared/fixtures."""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    if configured := os.environ.get("CHASM_FIXTURES"):
        return Path(configured)
    beside = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
    return beside if beside.exists() else Path("/work/shared/fixtures")


FIXTURES = _find()
TRANSCRIPTS = FIXTURES / "transcripts"
