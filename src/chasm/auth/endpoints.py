"""/auth: registration, password and OAuth login, refresh tokens, Codex login (spec 002, 000)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from chasm.auth import codex, invites, oauth, service
from chasm.auth.deps import CurrentActor, SecretKey, SessionMaker
from chasm.auth.ratelimit import login_throttled
from chasm.auth.schemas import (
    CodexCallbackIn,
    CodexConnected,
    CodexLoginUrl,
    InviteCreate,
    InviteCreated,
    InviteOut,
    LoginIn,
    MeOut,
    RefreshIn,
    Registered,
    RegisterIn,
    TokenPair,
)
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.pagination import Page, Paging

router = APIRouter(prefix="/auth", tags=["Auth"])

OptionalQuery = Annotated[str | None, Query(max_length=4096)]


@router.post("/register", status_code=201, dependencies=[Depends(login_throttled("register"))])
async def register(body: RegisterIn, db: DbSession, settings: AppSettings, secret: SecretKey) -> Registered:
    """Create a user with email and password; answers the user and a token pair."""
    return await service.register(db, settings, secret, body)


@router.post("/login", dependencies=[Depends(login_throttled("login"))])
async def login(
    body: LoginIn, db: DbSession, maker: SessionMaker, settings: AppSettings, secret: SecretKey
) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return await service.login(db, maker, settings, secret, body)


@router.post("/refresh")
async def refresh(
    body: RefreshIn, db: DbSession, maker: SessionMaker, settings: AppSettings, secret: SecretKey
) -> TokenPair:
    """Rotate a refresh token into a new token pair."""
    return await service.refresh(db, maker, settings, secret, body.refresh_token)


@router.post("/logout", status_code=204)
async def logout(body: RefreshIn, db: DbSession, secret: SecretKey) -> Response:
    """Revoke the login a refresh token belongs to."""
    await service.logout(db, secret, body.refresh_token)
    return Response(status_code=204)


@router.get("/me")
async def me(actor: CurrentActor, db: DbSession) -> MeOut:
    """The calling user and the accounts they belong to, with their roles."""
    return await service.me(db, actor)


@router.get("/codex/login-url")
async def codex_login_url(
    actor: CurrentActor, db: DbSession, settings: AppSettings, secret: SecretKey
) -> CodexLoginUrl:
    """Start a Codex login: the authorize URL, its state and the PKCE verifier."""
    return await codex.login_url(db, settings, secret, actor)


@router.get("/codex/callback")
async def codex_callback(
    db: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    code: OptionalQuery = None,
    state: OptionalQuery = None,
    error: OptionalQuery = None,
) -> CodexConnected:
    """Finish a Codex login from the redirect's query string."""
    return await codex.complete(db, settings, secret, code, state, error)


@router.post("/codex/callback")
async def codex_callback_pasted(
    body: CodexCallbackIn, db: DbSession, settings: AppSettings, secret: SecretKey
) -> CodexConnected:
    """Finish a Codex login from the pasted localhost redirect URL (or its code and state)."""
    return await codex.complete(db, settings, secret, *codex.code_and_state(body))


def _callback_url(request: Request, settings: AppSettings, provider: str) -> str:
    path = f"/auth/{provider}/callback"
    if settings.base_url:
        return settings.base_url.rstrip("/") + path
    return str(request.base_url).rstrip("/") + path


async def _login_redirect(
    request: Request, db: DbSession, settings: AppSettings, secret: str, provider: str
) -> Response:
    callback = _callback_url(request, settings, provider)
    url = await oauth.authorization_url(db, settings, secret, provider, callback)
    return RedirectResponse(url, status_code=302)


@router.get(
    "/google/login",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the provider's consent page (Location)", "content": {}}},
)
async def google_login(request: Request, db: DbSession, settings: AppSettings, secret: SecretKey) -> Response:
    """Redirect to Google's consent page."""
    return await _login_redirect(request, db, settings, secret, "google")


@router.get("/google/callback")
async def google_callback(
    db: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    code: OptionalQuery = None,
    state: OptionalQuery = None,
    error: OptionalQuery = None,
) -> TokenPair:
    """Finish a Google login; answers a token pair."""
    return await oauth.complete(db, settings, secret, "google", code, state, error)


@router.get(
    "/github/login",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the provider's consent page (Location)", "content": {}}},
)
async def github_login(request: Request, db: DbSession, settings: AppSettings, secret: SecretKey) -> Response:
    """Redirect to GitHub's consent page."""
    return await _login_redirect(request, db, settings, secret, "github")


@router.get("/github/callback")
async def github_callback(
    db: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    code: OptionalQuery = None,
    state: OptionalQuery = None,
    error: OptionalQuery = None,
) -> TokenPair:
    """Finish a GitHub login; answers a token pair."""
    return await oauth.complete(db, settings, secret, "github", code, state, error)


invites_router = APIRouter(prefix="/v1/invites", tags=["Invites"])


@invites_router.post("", status_code=201)
async def create_invite(
    body: InviteCreate, actor: CurrentActor, db: DbSession, secret: SecretKey
) -> InviteCreated:
    """Create a single-use invitation code (instance administrator only); the code is shown once."""
    return await invites.create(db, actor, secret, body)


@invites_router.get("")
async def list_invites(actor: CurrentActor, db: DbSession, paging: Paging) -> Page[InviteOut]:
    """Every invitation, newest first, without codes (instance administrator only)."""
    return await invites.list_invites(db, actor, paging)


@invites_router.delete("/{invite_id}", status_code=204)
async def revoke_invite(invite_id: str, actor: CurrentActor, db: DbSession) -> Response:
    """Delete an invitation, used or not (instance administrator only)."""
    await invites.revoke(db, actor, invite_id)
    return Response(status_code=204)
