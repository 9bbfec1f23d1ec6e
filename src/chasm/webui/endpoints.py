"""`POST /auth/local-token`: the dashboard's sign-in on a loopback server, without a password.

The chat surface already answers loopback callers of a loopback-bound server as the local owner
(`chasm.auth.deps.chat_surface_open`); the dashboard also calls the platform surface (/v1), which
always wants a bearer token. This hands such a caller a short-lived access token of the local
owner, under the same rule, browser checks included: the Host header must name a loopback address
(a DNS-rebinding page's Host is its own domain) and a browser's Origin must be the server's own.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from chasm.auth import repository as auth_repo
from chasm.auth.deps import SecretKey, chat_surface_open
from chasm.auth.tokens import issue_access_token
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.errors import ChasmError

router = APIRouter(prefix="/auth", tags=[Tag.AUTH])


class LocalToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class LocalSignInClosed(ChasmError):
    status_code = 403
    code = "local_sign_in_closed"


@router.post("/local-token", responses={403: {"description": "Not a loopback call of a loopback server"}})
async def local_token(
    request: Request, db: DbSession, settings: AppSettings, secret: SecretKey
) -> LocalToken:
    """An access token of the local owner, for the dashboard opened on a loopback-bound server."""
    if not chat_surface_open(request):
        raise LocalSignInClosed(
            "Local sign-in is open only to this machine's browser on a server bound to a loopback "
            "address; sign in with a password or an API key"
        )
    owner = await auth_repo.first_owner(db)
    if owner is None:
        raise LocalSignInClosed("No local owner exists yet")
    token = issue_access_token(secret, owner.id, settings.access_token_ttl_s)
    return LocalToken(access_token=token, expires_in=settings.access_token_ttl_s)
