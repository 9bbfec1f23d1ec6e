"""OpenAI Codex login: PKCE against a localhost redirect that the user pastes back (spec 000)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth import repository as repo
from chasm.auth.actor import Actor
from chasm.auth.exceptions import NotAUser, OAuthFailed, OAuthUpstreamError
from chasm.auth.oauth import consume_state, new_state, pkce_verifier
from chasm.auth.oauth_client import AsyncOAuth2Client, AuthlibBaseError
from chasm.auth.schemas import CodexCallbackIn, CodexConnected, CodexLoginUrl
from chasm.config import Settings
from chasm.kit.crypto import Box
from chasm.kit.errors import ValidationFailed
from chasm.kit.timeutil import utcnow
from chasm.models import CodexCredential

PROVIDER = "codex"
SCOPE = "openid profile email offline_access"
# Parameters the Codex CLI sends so that the consent page offers the simplified flow.
EXTRA_AUTHORIZE_PARAMS = {"id_token_add_organizations": "true", "codex_cli_simplified_flow": "true"}
OPENAI_AUTH_CLAIM = "https://api.openai.com/auth"


def _client(settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.codex_client_id,
        scope=SCOPE,
        redirect_uri=settings.codex_redirect_uri,
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        timeout=20.0,
    )


async def login_url(db: AsyncSession, settings: Settings, secret_key: str, actor: Actor) -> CodexLoginUrl:
    """An authorize URL for the caller; the state's hash is kept, keyed to the caller, and the
    verifier is derived from the state again at the callback."""
    if actor.user_id is None:
        raise NotAUser()
    await repo.purge_expired_states(db, utcnow())
    state = new_state(db, PROVIDER, settings.codex_redirect_uri, actor.user_id)
    verifier = pkce_verifier(secret_key, state)
    async with _client(settings) as client:
        url, _ = client.create_authorization_url(
            settings.codex_authorize_url, state=state, code_verifier=verifier, **EXTRA_AUTHORIZE_PARAMS
        )
    return CodexLoginUrl(url=str(url), state=state, code_verifier=verifier)


def code_and_state(body: CodexCallbackIn) -> tuple[str | None, str | None, str | None]:
    """(code, state, error) from the pasted redirect URL or from explicit fields."""
    if body.callback_url:
        query = parse_qs(urlsplit(body.callback_url.strip()).query)
        if not query:
            raise ValidationFailed("callback_url carries no query string: paste the whole redirect URL")

        def first(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        return first("code"), first("state"), first("error")
    if not body.code or not body.state:
        raise ValidationFailed("Give either callback_url or both code and state")
    return body.code, body.state, None


def _claims(id_token: str | None) -> dict[str, Any]:
    # The id_token comes straight from the token endpoint over TLS; its claims only label the login.
    if not id_token:
        return {}
    try:
        claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


async def complete(
    db: AsyncSession,
    settings: Settings,
    secret_key: str,
    code: str | None,
    state: str | None,
    error: str | None,
) -> CodexConnected:
    """Exchange the code with the kept verifier; store the tokens encrypted for the state's user."""
    pending = await consume_state(db, PROVIDER, state)
    assert state is not None  # consume_state found it
    if error:
        raise OAuthFailed(f"OpenAI refused the login: {error}", code="oauth_denied")
    if not code:
        raise OAuthFailed("The callback carries no authorization code")
    assert pending.user_id is not None
    async with _client(settings) as client:
        try:
            token = await client.fetch_token(
                settings.codex_token_url, code=code, code_verifier=pkce_verifier(secret_key, state)
            )
        except AuthlibBaseError as exc:
            raise OAuthFailed(f"OpenAI refused the authorization code: {exc}") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthUpstreamError(f"Talking to OpenAI failed: {exc}") from exc
    access = token.get("access_token")
    if not access:
        raise OAuthUpstreamError("OpenAI's token response has no access_token")
    claims = _claims(token.get("id_token"))
    auth_claims = claims.get(OPENAI_AUTH_CLAIM) or {}
    email = claims.get("email")
    account_id = auth_claims.get("chatgpt_account_id") if isinstance(auth_claims, dict) else None
    expires_in = token.get("expires_in")
    expires_at = utcnow() + timedelta(seconds=int(expires_in)) if expires_in else None
    box = Box(secret_key)
    credential = await repo.codex_credential(db, pending.user_id)
    if credential is None:
        credential = CodexCredential(user_id=pending.user_id, access_token_enc="")
        db.add(credential)
    credential.access_token_enc = box.encrypt(access)
    refresh_token = token.get("refresh_token")
    id_token = token.get("id_token")
    credential.refresh_token_enc = box.encrypt(refresh_token) if refresh_token else None
    credential.id_token_enc = box.encrypt(id_token) if id_token else None
    credential.account_email = str(email) if email else None
    credential.openai_account_id = str(account_id) if account_id else None
    credential.expires_at = expires_at
    await db.flush()
    user = await repo.get_user(db, pending.user_id)
    account = await repo.personal_account(db, pending.user_id)
    if user is not None and account is not None:
        actor = Actor("user", user.id, account, "owner", via="codex")
        record(db, actor, "codex.connect", "codex_credential", credential.id)
    return CodexConnected(
        email=credential.account_email, account_id=credential.openai_account_id, expires_at=expires_at
    )
