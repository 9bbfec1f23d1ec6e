"""Login with Google and GitHub (authorization code flow through Authlib; PKCE for Google)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts.service import create_user
from chasm.audit.service import record
from chasm.auth import repository as repo
from chasm.auth.exceptions import InvalidOAuthState, OAuthFailed, OAuthUpstreamError, ProviderNotConfigured
from chasm.auth.oauth_client import AsyncOAuth2Client, AuthlibBaseError
from chasm.auth.schemas import TokenPair
from chasm.auth.service import ensure_registration_open, issue_pair, user_actor
from chasm.config import Settings
from chasm.kit.crypto import digest, keyed_hash, random_token
from chasm.kit.timeutil import utcnow
from chasm.models import OAuthIdentity, OAuthState, User

STATE_TTL = timedelta(minutes=10)
HTTP_TIMEOUT = 20.0
PROVIDERS = ("google", "github")
# A flow begun by the web dashboard ends with a redirect to it, not with JSON. The mark is part of
# the state, whose hash is stored: changing it makes the state unknown.
DASHBOARD_MARK = ".dashboard"


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    client_secret: str | None
    authorize_url: str
    token_url: str
    scope: str
    pkce: bool


@dataclass(frozen=True)
class ExternalUser:
    subject: str
    email: str
    name: str | None


def provider(settings: Settings, name: str) -> Provider:
    """The provider's configuration; 404 when its client id is not set."""
    if name == "google" and settings.google_client_id:
        return Provider(
            "google",
            settings.google_client_id,
            settings.google_client_secret,
            settings.google_authorize_url,
            settings.google_token_url,
            "openid email profile",
            pkce=True,
        )
    if name == "github" and settings.github_client_id:
        return Provider(
            "github",
            settings.github_client_id,
            settings.github_client_secret,
            settings.github_authorize_url,
            settings.github_token_url,
            "read:user user:email",
            pkce=False,
        )
    raise ProviderNotConfigured(f"OAuth login with '{name}' is not configured on this server")


def configured(settings: Settings) -> list[str]:
    """The providers this server can log in with (their client id is set)."""
    ids = {"google": settings.google_client_id, "github": settings.github_client_id}
    return [name for name in PROVIDERS if ids[name]]


def from_dashboard(state: str | None) -> bool:
    return bool(state) and str(state).endswith(DASHBOARD_MARK)


def dashboard_redirect(pair: TokenPair | None, error: str | None = None) -> str:
    """Where a dashboard flow ends: the dashboard, with the refresh token in the fragment (never
    sent to a server; the page trades it at once for a new pair, so the one in the history is
    spent) or the reason it failed."""
    fragment = {"oauth_refresh_token": pair.refresh_token} if pair else {"oauth_error": error or "failed"}
    return "/#" + urlencode(fragment)


def _client(p: Provider, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=p.client_id,
        client_secret=p.client_secret,
        scope=p.scope,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256" if p.pkce else None,
        timeout=HTTP_TIMEOUT,
    )


def pkce_verifier(secret_key: str, state: str) -> str:
    """The PKCE verifier of a flow, derived from its state and the server secret: nothing of it is
    stored (64 hex characters, within RFC 7636's 43..128 unreserved characters)."""
    return keyed_hash(secret_key, "pkce-verifier:" + state)


def new_state(
    db: AsyncSession,
    provider_name: str,
    redirect_uri: str,
    user_id: uuid.UUID | None = None,
    dashboard: bool = False,
) -> str:
    """Remember a new flow; only the state's hash is stored."""
    state = random_token(32) + (DASHBOARD_MARK if dashboard else "")
    db.add(
        OAuthState(
            state=digest(state),
            provider=provider_name,
            code_verifier=None,
            redirect_uri=redirect_uri,
            user_id=user_id,
            expires_at=utcnow() + STATE_TTL,
        )
    )
    return state


async def consume_state(db: AsyncSession, provider_name: str, state: str | None) -> OAuthState:
    """The pending flow for state; single use, 400 when unknown or expired."""
    if not state:
        raise InvalidOAuthState()
    found = await repo.oauth_state(db, provider_name, digest(state))
    if found is None:
        raise InvalidOAuthState()
    await db.delete(found)
    await db.flush()
    if found.expires_at <= utcnow():
        raise InvalidOAuthState()
    return found


async def authorization_url(
    db: AsyncSession,
    settings: Settings,
    secret_key: str,
    name: str,
    redirect_uri: str,
    dashboard: bool = False,
) -> str:
    """Remember a new state and return the provider's authorize URL (with a PKCE challenge)."""
    p = provider(settings, name)
    await repo.purge_expired_states(db, utcnow())
    state = new_state(db, p.name, redirect_uri, dashboard=dashboard)
    verifier = pkce_verifier(secret_key, state) if p.pkce else None
    async with _client(p, redirect_uri) as client:
        url, _ = client.create_authorization_url(p.authorize_url, state=state, code_verifier=verifier)
    return str(url)


async def _fetch_json(client: AsyncOAuth2Client, url: str) -> Any:
    response = await client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise OAuthUpstreamError(f"{url} answered {response.status_code}")
    return response.json()


async def _google_user(settings: Settings, client: AsyncOAuth2Client) -> ExternalUser:
    info = await _fetch_json(client, settings.google_userinfo_url)
    if not info.get("email") or not info.get("email_verified"):
        raise OAuthFailed("Your Google account has no verified email address", code="oauth_email_unverified")
    return ExternalUser(str(info["sub"]), str(info["email"]), info.get("name"))


async def _github_user(settings: Settings, client: AsyncOAuth2Client) -> ExternalUser:
    api = settings.github_api_url.rstrip("/")
    info = await _fetch_json(client, f"{api}/user")
    emails = await _fetch_json(client, f"{api}/user/emails")
    primary = next(
        (e["email"] for e in emails if isinstance(e, dict) and e.get("primary") and e.get("verified")),
        None,
    )
    if primary is None:
        raise OAuthFailed(
            "Your GitHub account has no verified primary email address", code="oauth_email_unverified"
        )
    return ExternalUser(str(info["id"]), str(primary), info.get("name") or info.get("login"))


async def _link(db: AsyncSession, settings: Settings, provider_name: str, external: ExternalUser) -> User:
    """The user owning this identity: already linked, same verified email, or a new user."""
    now = utcnow()
    identity = await repo.oauth_identity(db, provider_name, external.subject)
    if identity is not None:
        user = await repo.get_user(db, identity.user_id)
        assert user is not None
        identity.email = external.email
        identity.last_login_at = now
        return user
    user = await repo.get_user_by_email(db, external.email)
    if user is None:
        ensure_registration_open(settings)  # signing up; existing users log in whatever the mode
        user, _ = await create_user(db, external.email, None, external.name, email_verified=True)
        record(
            db,
            await user_actor(db, user, provider_name),
            "user.register",
            "user",
            user.id,
            summary=f"registered through {provider_name}",
        )
    db.add(
        OAuthIdentity(
            user_id=user.id,
            provider=provider_name,
            subject=external.subject,
            email=external.email,
            last_login_at=now,
        )
    )
    await db.flush()
    return user


async def complete(
    db: AsyncSession,
    settings: Settings,
    secret_key: str,
    name: str,
    code: str | None,
    state: str | None,
    error: str | None,
) -> TokenPair:
    """Exchange the code, identify the user, and log them in."""
    p = provider(settings, name)
    pending = await consume_state(db, p.name, state)
    if error:
        raise OAuthFailed(f"{p.name} refused the login: {error}", code="oauth_denied")
    if not code:
        raise OAuthFailed("The callback carries no authorization code")
    async with _client(p, pending.redirect_uri) as client:
        try:
            assert state is not None  # consume_state found it
            extra = {"code_verifier": pkce_verifier(secret_key, state)} if p.pkce else {}
            await client.fetch_token(p.token_url, code=code, **extra)
            fetch = _google_user if p.name == "google" else _github_user
            external = await fetch(settings, client)
        except AuthlibBaseError as exc:
            raise OAuthFailed(f"{p.name} refused the authorization code: {exc}") from exc
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise OAuthUpstreamError(f"Talking to {p.name} failed: {exc}") from exc
    user = await _link(db, settings, p.name, external)
    if not user.is_active:
        raise OAuthFailed("This user is disabled", code="user_disabled")
    user.last_login_at = utcnow()
    record(
        db,
        await user_actor(db, user, p.name),
        "user.login",
        "user",
        user.id,
        metadata={"provider": p.name},
    )
    return await issue_pair(db, settings, secret_key, user)
