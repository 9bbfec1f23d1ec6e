"""`python -m chasm.webui.schema OUT_DIR`: what the dashboard's build generates its types from.

Writes `openapi.json` (the server's OpenAPI document, from `create_app(...).openapi()`, no server
started), `scopes.json` (the API key scopes) and `prices.json` (the model prices the server's cost
estimates use, per million tokens), so a changed endpoint breaks the front-end build.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from chasm.auth.scopes import CHAT_SCOPES, PLATFORM_SCOPES
from chasm.chats.pricing import PRICES


def dump(out: Path) -> None:
    from chasm.app import create_app
    from chasm.config import Settings

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), secret_key="openapi-dump", bootstrap_admin=False))
        document = app.openapi()
    (out / "openapi.json").write_text(json.dumps(document, indent=1, sort_keys=True))
    scopes = {"platform": list(PLATFORM_SCOPES), "chat": list(CHAT_SCOPES)}
    (out / "scopes.json").write_text(json.dumps(scopes, indent=1))
    prices = {name: [p.input, p.output, p.cache_read, p.cache_write] for name, p in PRICES.items()}
    (out / "prices.json").write_text(json.dumps(prices, indent=1, sort_keys=True))


if __name__ == "__main__":
    dump(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
