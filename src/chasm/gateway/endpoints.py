"""The session gateway: `/s/{session_id}/forward/{port}/{path}` for HTTP and WebSocket.

Admission: an API key or JWT of the session's account holding `sessions.write` (forwarding lets
the caller act on whatever serves inside the sandbox), or the session's access token given as
`X-Chasm-Session-Token`, `Authorization: Bearer`, or once as `?token=`, after which a cookie
scoped to the session's gateway path keeps the browser admitted.

With a base domain, a browser navigating to the path form (which shares the API's origin) is
redirected to the subdomain form, where the session's pages are an origin of their own.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import RedirectResponse, StreamingResponse

from chasm.gateway.exceptions import InvalidPort
from chasm.gateway.proxy import forward_http, forward_websocket
from chasm.kit.api_tags import Tag
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.sandbox.runtime import runtime_of
from chasm.sessions.access import SessionAccess, authorize, cookie_name, refuse
from chasm.sessions.exceptions import SessionNotRunning

router = APIRouter(prefix="/s", tags=[Tag.SESSION_GATEWAY])

GATEWAY_SCOPE = "sessions.write"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SUBDOMAIN_FLAG = "chasm.gateway_subdomain"


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise InvalidPort(f"port must be between 1 and 65535, not {value}")
    return value


async def _admit(conn: Request | WebSocket, session_id: str) -> SessionAccess:
    async with transaction(conn.app.state.sessionmaker) as db:
        access = await authorize(conn, db, session_id, GATEWAY_SCOPE)
    if access.row.status != "running":
        raise SessionNotRunning(session_id)
    runtime_of(conn.app).leases.touch(str(access.row.id))
    return access


def _prefix(conn: Request | WebSocket, session_id: str, port: int) -> str:
    return f"/forward/{port}" if conn.scope.get(SUBDOMAIN_FLAG) else f"/s/{session_id}/forward/{port}"


def _subdomain_url(request: Request, session_id: str, port: int, path: str) -> str | None:
    """Where a browser navigating to the path form should go instead (None: stay)."""
    settings = runtime_of(request.app).settings
    domain = settings.base_domain
    navigating = request.headers.get("sec-fetch-mode") == "navigate" and request.method in ("GET", "HEAD")
    if not domain or not navigating or request.scope.get(SUBDOMAIN_FLAG):
        return None
    # The configured public scheme: behind a TLS proxy the request itself may look like http,
    # and the query can carry the session's token.
    scheme = settings.base_url.split(":", 1)[0] if settings.base_url else request.url.scheme
    host = f"{session_id}.{domain.strip('.')}" + (f":{request.url.port}" if request.url.port else "")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{scheme}://{host}/forward/{port}/{path}{query}"


@router.api_route("/{session_id}/forward/{port}/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(session_id: str, port: int, path: str, request: Request) -> Response:
    """Proxy an HTTP request to a port inside the sandbox."""
    access = await _admit(request, session_id)
    sid = str(access.row.id)
    subdomain = _subdomain_url(request, sid, _port(port), path)
    if subdomain is not None:
        return RedirectResponse(subdomain, status_code=307)
    response: StreamingResponse = await forward_http(
        request, runtime_of(request.app).driver, sid, _port(port), path, _prefix(request, sid, port)
    )
    if access.via_session_token and request.query_params.get("token") == access.token:
        cookie_path = "/" if request.scope.get(SUBDOMAIN_FLAG) else f"/s/{sid}/"
        response.set_cookie(
            cookie_name(sid),
            access.token or "",
            path=cookie_path,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@router.websocket("/{session_id}/forward/{port}/{path:path}")
async def forward_ws(websocket: WebSocket, session_id: str, port: int, path: str) -> None:
    """Proxy a WebSocket to a port inside the sandbox."""
    runtime = runtime_of(websocket.app)
    try:
        access = await _admit(websocket, session_id)
        _port(port)
    except ChasmError as error:
        await refuse(websocket, error)
        return
    sid = str(access.row.id)
    with runtime.leases.hold(sid, "gateway"):
        await forward_websocket(websocket, runtime.driver, sid, port, path, _prefix(websocket, sid, port))
