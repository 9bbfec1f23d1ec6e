"""Who may use a session's connections (PTY WebSocket, gateway): an API key or JWT with the
right scope on the session's account, or the session's own access token.

Browsers cannot set headers on WebSockets, so the token may also come as `?token=`; the gateway
additionally accepts the `X-Chasm-Session-Token` header and its cookie.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import cast

from fastapi import Request, WebSocket
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from chasm.auth.actor import Actor
from chasm.auth.deps import resolve_actor
from chasm.kit.crypto import keyed_hash
from chasm.kit.errors import ChasmError, InsufficientScope, Unauthorized, render
from chasm.kit.ids import parse_uuid
from chasm.kit.surface import Surface
from chasm.models import SandboxSession
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import repository as repo
from chasm.sessions.exceptions import SessionNotFound
from chasm.sessions.service import ensure_here

SESSION_TOKEN_HEADER = "x-chasm-session-token"


def cookie_name(session_id: str) -> str:
    return f"chasm_session_{session_id.replace('-', '')[:32]}"


@dataclass
class SessionAccess:
    row: SandboxSession
    actor: Actor | None  # None: admitted by the session's own access token
    via_session_token: bool
    token: str | None


def candidate_tokens(conn: HTTPConnection, session_id: str) -> list[str]:
    found: list[str] = []
    header: str = conn.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found.append(value.strip())
    for other in (
        conn.headers.get(SESSION_TOKEN_HEADER),
        conn.query_params.get("token"),
        conn.cookies.get(cookie_name(session_id)),
    ):
        if other:
            found.append(other.strip())
    return found


def session_token_matches(secret: str, row: SandboxSession, token: str) -> bool:
    return bool(row.access_token_hash) and hmac.compare_digest(
        keyed_hash(secret, token), row.access_token_hash or ""
    )


async def authorize(conn: HTTPConnection, db: AsyncSession, session_id: str, scope: str) -> SessionAccess:
    """Admit the caller to session `session_id` or raise (401, 403, or 404 for other accounts)."""
    sid = parse_uuid(session_id)
    row = await repo.get_any(db, sid) if sid else None
    tokens = candidate_tokens(conn, session_id)
    if not tokens:
        raise Unauthorized()
    secret: str = conn.app.state.secret_key
    if row is not None:
        for token in tokens:
            if session_token_matches(secret, row, token):
                ensure_here(runtime_of(conn.app), row)
                return SessionAccess(row, None, True, token)
    api_tokens = [t for t in tokens if t.startswith("sk_") or t.count(".") == 2]
    if not api_tokens:
        raise Unauthorized("Invalid session token")
    actor = await resolve_actor(cast(Request, conn), db, api_tokens[0])
    if not actor.has_scope(scope):
        raise InsufficientScope(f"This key lacks the '{scope}' scope")
    if row is None or row.account_id != actor.account_id:
        raise SessionNotFound(session_id)
    ensure_here(runtime_of(conn.app), row)
    return SessionAccess(row, actor, False, None)


async def refuse(websocket: WebSocket, error: ChasmError) -> None:
    """Answer a WebSocket upgrade with the error as an HTTP response when the server can, else close."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = render(Surface.PLATFORM, error.status_code, error.code, error.message)
        await websocket.send_denial_response(JSONResponse(body, status_code=error.status_code))
    else:
        await websocket.close(code=4000 + error.status_code, reason=error.message[:120])


class RefusedHandshakeLogFilter(logging.Filter):
    """uvicorn logs an ERROR ("returned without completing handshake") after every WebSocket
    upgrade answered with an HTTP denial, which is how `refuse` answers: anonymous clients could
    fill the log with it. The refusal itself is still logged, once, at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing handshake" not in record.getMessage()


def quiet_refused_handshakes() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RefusedHandshakeLogFilter) for f in logger.filters):
        logger.addFilter(RefusedHandshakeLogFilter())
