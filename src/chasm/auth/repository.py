"""Queries behind authentication: keys by hash, users, accounts and memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import (
    Account,
    ApiKey,
    CodexCredential,
    Invite,
    Membership,
    OAuthIdentity,
    OAuthState,
    RefreshToken,
    ServiceAccount,
    User,
)


async def key_with_context(
    db: AsyncSession, key_hash: str
) -> tuple[ApiKey, Account | None, User | None, Membership | None] | None:
    """A key with its account, its user and the user's membership there, in one round trip
    (authentication runs on every request)."""
    stmt = (
        select(ApiKey, Account, User, Membership)
        .outerjoin(Account, Account.id == ApiKey.account_id)
        .outerjoin(User, User.id == ApiKey.user_id)
        .outerjoin(
            Membership,
            and_(Membership.account_id == ApiKey.account_id, Membership.user_id == ApiKey.user_id),
        )
        .where(ApiKey.key_hash == key_hash)
    )
    row = (await db.execute(stmt)).one_or_none()
    if row is None:
        return None
    return row[0], row[1], row[2], row[3]


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def get_user_by_email(db: AsyncSession, email: str) -> User | None:
    result = await db.execute(select(User).where(func.lower(User.email) == email.strip().lower()))
    return result.scalar_one_or_none()


async def get_service_account(db: AsyncSession, sa_id: uuid.UUID) -> ServiceAccount | None:
    return await db.get(ServiceAccount, sa_id)


async def get_account(db: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await db.get(Account, account_id)


async def personal_account(db: AsyncSession, user_id: uuid.UUID) -> Account | None:
    result = await db.execute(select(Account).where(Account.personal_user_id == user_id))
    return result.scalar_one_or_none()


async def membership(db: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    result = await db.execute(
        select(Membership).where(Membership.account_id == account_id, Membership.user_id == user_id)
    )
    return result.scalar_one_or_none()


async def member_accounts_named(db: AsyncSession, user_id: uuid.UUID, name: str) -> list[Account]:
    result = await db.execute(
        select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user_id, Account.name == name)
    )
    return list(result.scalars())


async def first_owner(db: AsyncSession) -> User | None:
    result = await db.execute(select(User).order_by(User.created_at).limit(1))
    return result.scalar_one_or_none()


def _accounts_of(user_id: uuid.UUID) -> Select[Account, str]:
    """The user's accounts with the user's role: the personal one first, then by age."""
    return (
        select(Account, Membership.role)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user_id)
        .order_by(Account.kind.desc(), Account.created_at, Account.id)
    )


async def accounts_with_roles(db: AsyncSession, user_id: uuid.UUID) -> list[tuple[Account, str]]:
    result = await db.execute(_accounts_of(user_id))
    return [(account, role) for account, role in result.all()]


async def accounts_page(
    db: AsyncSession, user_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[tuple[Account, str]], int]:
    return await pagination.fetch_rows(db, _accounts_of(user_id), paging)


async def refresh_token_by_hash(db: AsyncSession, token_hash: str) -> RefreshToken | None:
    result = await db.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    return result.scalar_one_or_none()


async def revoke_refresh_family(db: AsyncSession, family_id: uuid.UUID, when: datetime) -> None:
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def oauth_state(db: AsyncSession, provider: str, state: str) -> OAuthState | None:
    result = await db.execute(
        select(OAuthState).where(OAuthState.state == state, OAuthState.provider == provider)
    )
    return result.scalar_one_or_none()


async def purge_expired_states(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(OAuthState).where(OAuthState.expires_at < now))


async def oauth_identity(db: AsyncSession, provider: str, subject: str) -> OAuthIdentity | None:
    result = await db.execute(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )
    return result.scalar_one_or_none()


async def codex_credential(db: AsyncSession, user_id: uuid.UUID) -> CodexCredential | None:
    result = await db.execute(select(CodexCredential).where(CodexCredential.user_id == user_id))
    return result.scalar_one_or_none()


async def invites(db: AsyncSession, paging: PageParams) -> tuple[Sequence[Invite], int]:
    """Every invitation, newest first."""
    return await pagination.fetch(db, select(Invite).order_by(Invite.created_at.desc(), Invite.id), paging)


async def spend_invite(db: AsyncSession, code_hash: str, user_id: uuid.UUID, now: datetime) -> bool:
    """Mark an unused, unexpired invitation used, in one conditional UPDATE (two registrations
    racing for one code cannot both win); whether it was."""
    result = await db.execute(
        update(Invite)
        .where(Invite.code_hash == code_hash, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now, used_by=user_id)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def user_count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(User))).scalar_one())


async def instance_admin_emails(db: AsyncSession) -> list[str]:
    return list(await db.scalars(select(User.email).where(User.is_instance_admin).order_by(User.email)))


async def instance_admin_owned(db: AsyncSession, account_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `account_ids` that only instance administrators own (anyone may make an
    administrator a co-owner of their organization; that does not make it the administrators')."""
    rows = await db.execute(
        select(Membership.account_id, User.is_instance_admin)
        .join(User, User.id == Membership.user_id)
        .where(Membership.account_id.in_(account_ids), Membership.role == "owner")
    )
    owned: dict[uuid.UUID, bool] = {}
    for account_id, admin in rows:
        owned[account_id] = owned.get(account_id, True) and bool(admin)
    return {account_id for account_id, only_admins in owned.items() if only_admins}
