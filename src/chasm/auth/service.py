"""Password login, registration and refresh-token rotation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.accounts.service import create_user
from chasm.audit.service import record, record_apart
from chasm.auth import invites
from chasm.auth import repository as repo
from chasm.auth.actor import Actor
from chasm.auth.exceptions import InvalidCredentials, InvalidRefreshToken, RegistrationClosed
from chasm.auth.schemas import AccountRole, LoginIn, MeOut, Registered, RegisterIn, TokenPair, UserOut
from chasm.auth.tokens import issue_access_token
from chasm.config import Settings
from chasm.kit.crypto import hash_password, keyed_hash, random_token, verify_password
from chasm.kit.db import transaction
from chasm.kit.errors import NotFound
from chasm.kit.timeutil import utcnow
from chasm.models import Account, RefreshToken, User

REFRESH_PREFIX = "rt_"
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = hash_password("chasm-no-such-user")


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


async def user_actor(db: AsyncSession, user: User, via: str) -> Actor:
    account = await repo.personal_account(db, user.id)
    if account is None:
        raise NotFound("Personal account not found", code="account_not_found")
    return Actor("user", user.id, account, "owner", None, via=via)


async def issue_pair(
    db: AsyncSession,
    settings: Settings,
    secret_key: str,
    user: User,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    """A fresh access token and a refresh token (new family unless rotating one)."""
    refresh = REFRESH_PREFIX + random_token(32)
    db.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=keyed_hash(secret_key, refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    await db.flush()
    access = issue_access_token(secret_key, user.id, settings.access_token_ttl_s)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.access_token_ttl_s)


def ensure_registration_open(settings: Settings, *, invite_code: bool = False) -> None:
    """Self-registration obeys `registration`: 403 when closed, and in `invite` mode unless the
    caller brings an invitation code (redeemed by `register`). OAuth sign-up brings none."""
    mode = settings.effective_registration
    if mode == "open" or (mode == "invite" and invite_code):
        return
    if mode == "invite":
        raise RegistrationClosed(
            "This server admits new users by invitation only: register with the invite_code "
            "its administrator gave you"
        )
    raise RegistrationClosed(
        "Self-registration is closed on this server; ask its administrator for an account"
    )


async def register(db: AsyncSession, settings: Settings, secret_key: str, body: RegisterIn) -> Registered:
    invited = settings.effective_registration == "invite"
    ensure_registration_open(settings, invite_code=invited and bool(body.invite_code))
    user, _account = await create_user(db, str(body.email), body.password, body.name)
    if invited:
        await invites.redeem(db, secret_key, body.invite_code, user.id)
    user.last_login_at = utcnow()
    actor = await user_actor(db, user, "password")
    record(db, actor, "user.register", "user", user.id, summary=f"registered {user.email}")
    pair = await issue_pair(db, settings, secret_key, user)
    return Registered(**pair.model_dump(), user=user_out(user))


async def login(
    db: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    secret_key: str,
    body: LoginIn,
) -> TokenPair:
    user = await repo.get_user_by_email(db, body.email)
    if user is None or user.password_hash is None:
        verify_password(_DUMMY_HASH, body.password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, body.password) or not user.is_active:
        # The request's transaction rolls back with the error; the failure is kept apart.
        account = await repo.personal_account(db, user.id)
        if account is not None:
            await record_apart(
                maker,
                "user.login",
                "user",
                user.id,
                account_id=account.id,
                status="failure",
                summary="wrong password",
            )
        raise InvalidCredentials()
    user.last_login_at = utcnow()
    record(db, await user_actor(db, user, "password"), "user.login", "user", user.id)
    return await issue_pair(db, settings, secret_key, user)


async def refresh(
    db: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    secret_key: str,
    token: str,
) -> TokenPair:
    """Rotate a refresh token. Presenting one already rotated revokes its whole family."""
    found = await repo.refresh_token_by_hash(db, keyed_hash(secret_key, token))
    now = utcnow()
    if found is None:
        raise InvalidRefreshToken("Unknown refresh token")
    if found.rotated_at is not None:
        async with transaction(maker) as apart:
            await repo.revoke_refresh_family(apart, found.family_id, now)
        raise InvalidRefreshToken("Refresh token was already used; every token of this login is revoked")
    if found.revoked_at is not None:
        raise InvalidRefreshToken("Refresh token has been revoked")
    if found.expires_at <= now:
        raise InvalidRefreshToken("Refresh token has expired")
    user = await repo.get_user(db, found.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken("Refresh token's user is disabled")
    found.rotated_at = now
    found.revoked_at = now
    return await issue_pair(db, settings, secret_key, user, family_id=found.family_id)


async def logout(db: AsyncSession, secret_key: str, token: str) -> None:
    """Revoke the login the refresh token belongs to (idempotent)."""
    found = await repo.refresh_token_by_hash(db, keyed_hash(secret_key, token))
    if found is None or found.revoked_at is not None:
        return
    await repo.revoke_refresh_family(db, found.family_id, utcnow())
    user = await repo.get_user(db, found.user_id)
    if user is not None:
        record(db, await user_actor(db, user, "refresh_token"), "user.logout", "user", user.id)


def _role(account: Account, role: str) -> AccountRole:
    return AccountRole(id=account.id, name=account.name, kind=account.kind, role=role)


async def me(db: AsyncSession, actor: Actor) -> MeOut:
    active = _role(actor.account, actor.role)
    if actor.user_id is None:
        return MeOut(
            principal_type=actor.principal_type,
            user=None,
            service_account_id=actor.principal_id,
            active_account=active,
            accounts=[active],
            instance_admin=actor.instance_admin,
        )
    user = await repo.get_user(db, actor.user_id)
    assert user is not None
    accounts = [_role(a, r) for a, r in await repo.accounts_with_roles(db, user.id)]
    return MeOut(
        principal_type="user",
        user=user_out(user),
        service_account_id=None,
        active_account=active,
        accounts=accounts,
        instance_admin=actor.instance_admin,
    )
