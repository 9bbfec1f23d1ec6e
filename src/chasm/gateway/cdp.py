"""The DevTools Protocol of a browser session through the gateway.

`/s/{id}/json/version`, `/s/{id}/json/list` (and `/json`), `/s/{id}/json/new`, `/json/activate/`,
`/json/close/`, `/json/protocol` answer what Chromium answers, with every `webSocketDebuggerUrl`
and `devtoolsFrontendUrl` rewritten to the gateway's `/s/{id}/devtools/...` (the subdomain's
`/devtools/...` when the request came through it); `/s/{id}/devtools/{browser|page}/{id}` are
the WebSockets. Admission is the gateway's: a key with `sessions.write` or the session's token.
The Origin header is not passed on: Chromium refuses DevTools sockets that carry one, which
keeps pages inside the browser away from its DevTools port; the gateway has admitted the caller.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket

from chasm.gateway.endpoints import SUBDOMAIN_FLAG, _admit
from chasm.gateway.exceptions import NotABrowserSession
from chasm.gateway.proxy import forward_websocket
from chasm.kit.api_tags import Tag
from chasm.kit.errors import BadRequest, ChasmError
from chasm.sandbox.cdp import CDP_PORT, CdpError, http_raw
from chasm.sandbox.runtime import runtime_of
from chasm.sessions.access import SessionAccess, refuse

router = APIRouter(prefix="/s", tags=[Tag.SESSION_GATEWAY])
UPSTREAM_WS = f"ws://127.0.0.1:{CDP_PORT}/"
UPSTREAM_FRONTEND = f"=127.0.0.1:{CDP_PORT}/"
DROPPED_ON_SOCKETS = frozenset({"origin"})
SAFE_PATH = re.compile(r"[A-Za-z0-9._/-]*")  # what goes into the request line to Chromium


def _browser(access: SessionAccess) -> None:
    if access.row.session_type != "browser":
        raise NotABrowserSession(
            f"Session {access.row.id} is a {access.row.session_type} session, not a browser"
        )


def _public(conn: Request | WebSocket, session_id: str) -> tuple[bool, str]:
    """(secure, host and path prefix) under which this caller reaches the session's DevTools."""
    settings = runtime_of(conn.app).settings
    if conn.scope.get(SUBDOMAIN_FLAG) or not settings.base_url:
        secure = conn.url.scheme in ("https", "wss")
        if settings.base_url:
            secure = settings.base_url.startswith("https")
        host = conn.headers.get("host") or f"{conn.url.hostname}:{conn.url.port}"
        base = host if conn.scope.get(SUBDOMAIN_FLAG) else f"{host}/s/{session_id}"
        return secure, base
    base_url = settings.base_url.rstrip("/")
    return base_url.startswith("https"), f"{base_url.split('://', 1)[1]}/s/{session_id}"


def rewrite(value: Any, secure: bool, base: str) -> Any:
    """Chromium's own addresses (127.0.0.1:9222 in the session) made the gateway's."""
    if isinstance(value, list):
        return [rewrite(item, secure, base) for item in value]
    if not isinstance(value, dict):
        return value
    out = dict(value)
    socket_url = out.get("webSocketDebuggerUrl")
    if isinstance(socket_url, str) and socket_url.startswith(UPSTREAM_WS):
        out["webSocketDebuggerUrl"] = (
            f"{'wss' if secure else 'ws'}://{base}/" + socket_url[len(UPSTREAM_WS) :]
        )
    frontend = out.get("devtoolsFrontendUrl")
    if isinstance(frontend, str):
        # `...inspector.html?ws=127.0.0.1:9222/devtools/page/X`: the frontend's socket, sans scheme.
        out["devtoolsFrontendUrl"] = frontend.replace(
            "?ws" + UPSTREAM_FRONTEND, f"?{'wss' if secure else 'ws'}={base}/"
        )
    return out


@router.api_route("/{session_id}/json", methods=["GET", "PUT"], include_in_schema=False)
@router.api_route("/{session_id}/json/{path:path}", methods=["GET", "PUT"], include_in_schema=False)
async def devtools_json(session_id: str, request: Request, path: str = "") -> Response:
    """Chromium's DevTools HTTP endpoints, with its socket addresses rewritten to the gateway's."""
    access = await _admit(request, session_id)  # also counts as activity of the session
    _browser(access)
    if not SAFE_PATH.fullmatch(path):
        raise BadRequest(f"Not a DevTools endpoint: /json/{path[:100]}", code="invalid_path")
    sid = str(access.row.id)
    runtime = runtime_of(request.app)
    # Passed on as it came (`/json/new?https://example.com` is a bare URL), less the gateway's token.
    query = "&".join(part for part in request.url.query.split("&") if part and not part.startswith("token="))
    target = ("/json/" + path.strip("/")).rstrip("/") + (f"?{query}" if query else "")
    try:
        status, body = await http_raw(runtime.driver, sid, target, request.method)
    except CdpError as exc:
        raise ChasmError(str(exc), status_code=502, code="browser_unreachable") from exc
    try:
        data = json.loads(body)
    except ValueError:
        return Response(body, status_code=status, media_type="text/plain")
    secure, base = _public(request, sid)
    return Response(
        json.dumps(rewrite(data, secure, base)), status_code=status, media_type="application/json"
    )


@router.websocket("/{session_id}/devtools/{path:path}")
async def devtools_socket(websocket: WebSocket, session_id: str, path: str) -> None:
    """A DevTools WebSocket (`browser/{id}` or `page/{id}`) of the session's Chromium."""
    runtime = runtime_of(websocket.app)
    try:
        access = await _admit(websocket, session_id)
        _browser(access)
    except ChasmError as error:
        await refuse(websocket, error)
        return
    sid = str(access.row.id)
    prefix = "/devtools" if websocket.scope.get(SUBDOMAIN_FLAG) else f"/s/{sid}/devtools"
    with runtime.leases.hold(sid, "cdp"):
        await forward_websocket(
            websocket, runtime.driver, sid, CDP_PORT, f"devtools/{path}", prefix, drop=DROPPED_ON_SOCKETS
        )
