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
    OAuthProviderOut,
    OAuthProviders,
    RefreshIn,
    Registered,
    RegisterIn,
    TokenPair,
)
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession, Paging
from chasm.kit.errors import ChasmError
from chasm.kit.pagination import Page

router = APIRouter(prefix="/auth", tags=[Tag.AUTH])

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
    request: Request, db: DbSession, settings: AppSettings, secret: str, provider: str, dashboard: bool
) -> Response:
    callback = _callback_url(request, settings, provider)
    url = await oauth.authorization_url(db, settings, secret, provider, callback, dashboard)
    return RedirectResponse(url, status_code=302)


async def _finish(
    db: DbSession, settings: AppSettings, secret: str, provider: str, code: str | None, state: str | None,
    error: str | None,
) -> TokenPair | Response:  # fmt: skip
    """The token pair; a flow begun by the dashboard is sent back to it (signed in, or why not)."""
    if not oauth.from_dashboard(state):
        return await oauth.complete(db, settings, secret, provider, code, state, error)
    try:
        pair = await oauth.complete(db, settings, secret, provider, code, state, error)
    except ChasmError as failure:
        await db.rollback()
        return RedirectResponse(oauth.dashboard_redirect(None, failure.message), status_code=302)
    return RedirectResponse(oauth.dashboard_redirect(pair), status_code=302)


Dashboard = Annotated[
    bool, Query(description="End the flow at the web dashboard, signed in, instead of answering JSON")
]
CALLBACK_RESPONSES: dict[int | str, dict[str, object]] = {
    302: {"description": "a flow begun with dashboard=true: back to the dashboard (Location)", "content": {}}
}


@router.get("/providers")
async def oauth_providers(settings: AppSettings) -> OAuthProviders:
    """The OAuth providers this server logs in with (public: the sign-in page shows their buttons)."""
    return OAuthProviders(
        providers=[OAuthProviderOut(name=n, login_url=f"/auth/{n}/login") for n in oauth.configured(settings)]
    )


@router.get(
    "/google/login",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the provider's consent page (Location)", "content": {}}},
)
async def google_login(
    request: Request, db: DbSession, settings: AppSettings, secret: SecretKey, dashboard: Dashboard = False
) -> Response:
    """Redirect to Google's consent page."""
    return await _login_redirect(request, db, settings, secret, "google", dashboard)


@router.get("/google/callback", response_model=TokenPair, responses=CALLBACK_RESPONSES)
async def google_callback(
    db: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    code: OptionalQuery = None,
    state: OptionalQuery = None,
    error: OptionalQuery = None,
) -> TokenPair | Response:
    """Finish a Google login; answers a token pair."""
    return await _finish(db, settings, secret, "google", code, state, error)


@router.get(
    "/github/login",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "to the provider's consent page (Location)", "content": {}}},
)
async def github_login(
    request: Request, db: DbSession, settings: AppSettings, secret: SecretKey, dashboard: Dashboard = False
) -> Response:
    """Redirect to GitHub's consent page."""
    return await _login_redirect(request, db, settings, secret, "github", dashboard)


@router.get("/github/callback", response_model=TokenPair, responses=CALLBACK_RESPONSES)
async def github_callback(
    db: DbSession,
    settings: AppSettings,
    secret: SecretKey,
    code: OptionalQuery = None,
    state: OptionalQuery = None,
    error: OptionalQuery = None,
) -> TokenPair | Response:
    """Finish a GitHub login; answers a token pair."""
    return await _finish(db, settings, secret, "github", code, state, error)


invites_router = APIRouter(prefix="/v1/invites", tags=[Tag.INVITES])


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
