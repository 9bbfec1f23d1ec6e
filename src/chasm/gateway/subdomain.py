"""With a base domain configured, `{session_id}.{base_domain}/forward/{port}/...` is the same as
`/s/{session_id}/forward/{port}/...` (and `/json/...`, `/devtools/...` of a browser session):
this ASGI middleware rewrites the path."""

from __future__ import annotations

from typing import Any

from chasm.gateway.endpoints import SUBDOMAIN_FLAG
from chasm.kit.ids import parse_uuid

# `/forward/{port}/...` for every session; `/json/...` and `/devtools/...` (CDP) for browsers.
GATEWAY_ROOTS = {"forward", "json", "devtools"}


class SubdomainGateway:
    def __init__(self, app: Any, base_domain: str | None) -> None:
        self.app = app
        self.suffix = "." + base_domain.strip(".").lower() if base_domain else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.suffix and scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            host = host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
            label = host[: -len(self.suffix)] if host.endswith(self.suffix) else ""
            if label and "." not in label and parse_uuid(label) is not None:
                path: str = scope["path"]
                if path.split("/", 2)[1] in GATEWAY_ROOTS:
                    raw: bytes = scope.get("raw_path") or path.encode()
                    scope = {
                        **scope,
                        "path": f"/s/{label}{path}",
                        "raw_path": f"/s/{label}".encode() + raw,
                        SUBDOMAIN_FLAG: True,
                    }
        await self.app(scope, receive, send)
