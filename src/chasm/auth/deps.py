"""Authentication and authorisation dependencies: `CurrentActor`, `require_scope(...)`.

Every /v1 endpoint declares one of these; the scope table test walks the routes to prove it.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import timedelta
from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth import repository as repo
from chasm.auth.actor import Actor
from chasm.auth.principals import PrincipalCache
from chasm.auth.selection import account_for_user
from chasm.auth.tokens import decode_access_token
from chasm.kit.crypto import keyed_hash
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError, InsufficientScope, Unauthorized
from chasm.kit.ids import parse_uuid
from chasm.kit.timeutil import utcnow
from chasm.models import Account

ACCOUNT_HEADER = "X-Chaser-Account"
LAST_USED_RESOLUTION = timedelta(seconds=60)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def is_loopback_request(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return request.client.host in ("testclient", "localhost")


def _key_account_matches(account: Account, selector: str) -> bool:
    if selector.lower() == "personal":
        return account.kind == "personal"
    return selector in (str(account.id), account.name)


def _check_key_account(account: Account, selector: str | None) -> None:
    if selector and not _key_account_matches(account, selector.strip()):
        raise ChasmError(
            f"This API key is bound to account '{account.name}' and cannot act on '{selector}'; "
            f"use a key of that account (on the server's host: chasm keys create --account '{selector}' "
            "--name NAME)",
            status_code=403,
            code="account_mismatch",
        )


async def _actor_from_api_key(
    request: Request, db: AsyncSession, token: str, key_hash: str | None = None
) -> Actor:
    found = await repo.key_with_context(db, key_hash or keyed_hash(request.app.state.secret_key, token))
    now = utcnow()
    if found is None:
        raise Unauthorized("Invalid API key")
    key, account, user, member = found
    if key.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("API key has expired")
    if account is None:
        raise Unauthorized("API key's account no longer exists")
    _check_key_account(account, request.headers.get(ACCOUNT_HEADER))
    if key.service_account_id is not None:
        principal_type, principal_id, role = "service_account", key.service_account_id, "member"
    else:
        assert key.user_id is not None
        if user is None or not user.is_active:
            raise Unauthorized("API key's user is disabled")
        if member is None:
            raise Unauthorized("API key's user is no longer a member of its account")
        principal_type, principal_id, role = "user", key.user_id, member.role
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    scopes = frozenset(key.scopes) if key.scopes else None
    instance_admin = key.service_account_id is None and user is not None and user.is_instance_admin
    return Actor(
        principal_type,
        principal_id,
        account,
        role,
        scopes,
        via="api_key",
        api_key_id=key.id,
        instance_admin=instance_admin,
        expires_at=key.expires_at,
    )


async def resolve_actor(request: Request, db: AsyncSession, token: str) -> Actor:
    if token.startswith("sk_"):
        return await _actor_from_api_key(request, db, token)
    claims = decode_access_token(request.app.state.secret_key, token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token")
    return await _actor_from_user(request, db, parse_uuid(claims.get("sub")))


async def _actor_from_user(request: Request, db: AsyncSession, user_id: uuid.UUID | None) -> Actor:
    user = await repo.get_user(db, user_id) if user_id else None
    if user is None or not user.is_active:
        raise Unauthorized("Token subject no longer exists")
    account, role = await account_for_user(db, user.id, request.headers.get(ACCOUNT_HEADER))
    return Actor("user", user.id, account, role, None, via="jwt", instance_admin=user.is_instance_admin)


async def _resolve_cached(request: Request, token: str) -> Actor:
    """`resolve_actor` through the app's principal cache: no database work on a hit."""
    cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
    maker = request.app.state.sessionmaker
    if token.startswith("sk_"):
        key_hash = keyed_hash(request.app.state.secret_key, token)
        if cache is not None and (actor := cache.get(key_hash)) is not None:
            if actor.expires_at is not None and actor.expires_at <= utcnow():
                raise Unauthorized("API key has expired")
            _check_key_account(actor.account, request.headers.get(ACCOUNT_HEADER))
            return actor
        generation = cache.generation if cache is not None else 0
        async with transaction(maker) as db:
            actor = await _actor_from_api_key(request, db, token, key_hash)
        if cache is not None:
            cache.put(key_hash, actor, generation)
        return actor
    claims = decode_access_token(request.app.state.secret_key, token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token")
    user_id = parse_uuid(claims.get("sub"))
    cache_key = ("user", user_id, request.headers.get(ACCOUNT_HEADER))
    if cache is not None and (actor := cache.get(cache_key)) is not None:
        return actor
    generation = cache.generation if cache is not None else 0
    async with maker() as db:
        actor = await _actor_from_user(request, db, user_id)
    if cache is not None:
        cache.put(cache_key, actor, generation)
    return actor


async def get_actor(request: Request) -> Actor:
    """The caller. Resolved in a short read of its own (not the request's session) unless cached."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    actor = await _resolve_cached(request, token)
    request.state.actor = actor
    return actor


# Headers a reverse proxy adds: a request carrying one came through a proxy, whose own connection
# to us is loopback whoever the real client is.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _loopback_name(host: str | None) -> bool:
    if not host:
        return False
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _from_this_machines_page(request: Request) -> bool:
    """Not a web page of another site acting through this machine's browser: the Host header names
    a loopback address (a DNS-rebinding page's Host is its own domain), and a browser's Origin and
    `Sec-Fetch-Site` say the request comes from the server's own pages (a cross-site form POST or
    WebSocket carries the other site's Origin). Clients that are not browsers send neither."""
    host = request.headers.get("host")
    if not _loopback_name(host):
        return False
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != host:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def chat_surface_open(request: Request) -> bool:
    """The chat surface answers without credentials to loopback clients of a loopback-bound server,
    unless the request came through a proxy (then its loopback address says nothing) or from a web
    page of another site open in this machine's browser (cross-site requests, DNS rebinding)."""
    settings = request.app.state.settings
    if settings.chat_requires_auth or any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        bound_loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        bound_loopback = settings.host == "localhost"
    return bound_loopback and is_loopback_request(request) and _from_this_machines_page(request)


async def _loopback_owner(request: Request) -> Actor:
    cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
    cache_key = ("loopback", request.headers.get(ACCOUNT_HEADER))
    if cache is not None and (actor := cache.get(cache_key)) is not None:
        return actor
    generation = cache.generation if cache is not None else 0
    async with request.app.state.sessionmaker() as db:
        owner = await repo.first_owner(db)
        if owner is None:
            raise Unauthorized("No local owner exists yet")
        account, role = await account_for_user(db, owner.id, request.headers.get(ACCOUNT_HEADER))
    admin = owner.is_instance_admin
    actor = Actor("user", owner.id, account, role, None, via="loopback", instance_admin=admin)
    if cache is not None:
        cache.put(cache_key, actor, generation)
    return actor


async def get_chat_actor(request: Request) -> Actor:
    """Actor for /api: the bearer's, or the local owner's personal account for loopback callers."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is not None:
        actor = await _resolve_cached(request, token)
    elif chat_surface_open(request):
        actor = await _loopback_owner(request)
    else:
        raise Unauthorized()
    request.state.actor = actor
    return actor


async def websocket_chat_actor(websocket: WebSocket, scope: str) -> Actor:
    """A chat WebSocket's caller (`/ws`, `/ws/recording`), as on the chat surface: a bearer token
    in the Authorization header or, for browsers, in `?token=`; else the loopback owner where the
    surface is open. Raises (401, 403) when the caller lacks `scope`."""
    request = cast(Request, websocket)  # headers, client and app are all the actor reads
    token = bearer_token(request) or (websocket.query_params.get("token") or "").strip() or None
    if token is not None:
        actor = await _resolve_cached(request, token)
    elif chat_surface_open(request):
        actor = await _loopback_owner(request)
    else:
        raise Unauthorized()
    if not actor.has_scope(scope):
        raise InsufficientScope(f"This key lacks the '{scope}' scope")
    return actor


class require_scope:  # noqa: N801  (used like a function in signatures)
    """Dependency: the caller must hold `scope` (keys without scopes hold every scope)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(self, actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if not actor.has_scope(self.scope):
            raise InsufficientScope(f"This key lacks the '{self.scope}' scope")
        return actor


class require_chat_scope(require_scope):  # noqa: N801
    """The same check on the chat surface (/api, /api/v1), whose actor may be the loopback owner."""

    async def __call__(self, actor: Annotated[Actor, Depends(get_chat_actor)]) -> Actor:  # type: ignore[override]
        if not actor.has_scope(self.scope):
            raise InsufficientScope(f"This key lacks the '{self.scope}' scope")
        return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
ChatActor = Annotated[Actor, Depends(get_chat_actor)]
# Chat surface routes declare one of these (the scope table test walks /api and /api/v1 for them).
ChatReader = Annotated[Actor, Depends(require_chat_scope("chats.read"))]
ChatWriter = Annotated[Actor, Depends(require_chat_scope("chats.write"))]
HarvestRunner = Annotated[Actor, Depends(require_chat_scope("harvest.run"))]
SettingsWriter = Annotated[Actor, Depends(require_chat_scope("settings.write"))]
SystemAdmin = Annotated[Actor, Depends(require_chat_scope("system.admin"))]


async def get_secret_key(request: Request) -> str:
    secret: str = request.app.state.secret_key
    return secret


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


SecretKey = Annotated[str, Depends(get_secret_key)]
SessionMaker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
