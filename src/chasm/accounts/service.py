"""Users and their accounts. Every user has one implicit personal account, owned by them."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts import repository as repo
from chasm.accounts.exceptions import (
    AlreadyMember,
    FullAccessRequired,
    LastOwner,
    MemberNotFound,
    NotAccountAdmin,
    OrganizationNameTaken,
    PersonalAccount,
    ServiceAccountNotFound,
    UserNotFound,
)
from chasm.accounts.quotas import QuotaExceeded, is_instance_admin, quota_for
from chasm.accounts.schemas import (
    AccountOut,
    MemberAdd,
    MemberOut,
    MemberUpdate,
    OrganizationCreate,
    ServiceAccountCreate,
    ServiceAccountOut,
)
from chasm.audit.service import record
from chasm.auth import repository as auth_repo
from chasm.auth.actor import Actor
from chasm.auth.exceptions import NotAUser
from chasm.config import Settings
from chasm.keys import repository as keys_repo
from chasm.keys import service as keys_service
from chasm.keys.exceptions import KeyNotFound
from chasm.keys.schemas import KeyCreate, KeyCreated, KeyOut
from chasm.kit.crypto import hash_password
from chasm.kit.errors import Conflict, Forbidden, ValidationFailed
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import Account, Membership, ServiceAccount, User


async def create_user(
    db: AsyncSession,
    email: str,
    password: str | None,
    name: str | None = None,
    *,
    email_verified: bool = False,
) -> tuple[User, Account]:
    email = email.strip().lower()
    if await auth_repo.get_user_by_email(db, email) is not None:
        raise Conflict("A user with this email already exists", code="email_taken")
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        email_verified=email_verified,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # registered concurrently
        raise Conflict("A user with this email already exists", code="email_taken") from exc
    account = Account(name=email, kind="personal", personal_user_id=user.id)
    db.add(account)
    await db.flush()
    db.add(Membership(account_id=account.id, user_id=user.id, role="owner"))
    await db.flush()
    return user, account


def require_admin(actor: Actor, what: str, *, full_access: bool = True) -> None:
    """Account administration: owners and admins, with an unrestricted credential unless told."""
    if full_access and actor.scopes is not None:
        raise FullAccessRequired()
    if not actor.can_manage_members:
        raise NotAccountAdmin(what)


def _account_out(account: Account, role: str) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        kind=account.kind,
        plan=account.plan,
        role=role,
        created_at=account.created_at,
    )


def _member_out(member: Membership, user: User) -> MemberOut:
    return MemberOut(
        user_id=user.id, email=user.email, name=user.name, role=member.role, created_at=member.created_at
    )


async def list_accounts(db: AsyncSession, actor: Actor, paging: PageParams) -> Page[AccountOut]:
    if actor.user_id is None:  # a service account sees the one account it belongs to
        return paging.window([_account_out(actor.account, actor.role)])
    rows, total = await auth_repo.accounts_page(db, actor.user_id, paging)
    return paging.page([_account_out(a, r) for a, r in rows], total)


def current_account(actor: Actor) -> AccountOut:
    return _account_out(actor.account, actor.role)


async def _check_organization_quota(db: AsyncSession, actor: Actor, settings: Settings) -> None:
    """Each organization has quotas of its own: the plan caps how many one user owns (an
    instance administrator is not limited)."""
    assert actor.user_id is not None
    if await is_instance_admin(db, actor):
        return
    quota = quota_for(settings, await repo.personal_plan(db, actor.user_id))
    if quota.organizations is None:
        return
    owned = await repo.owned_organizations(db, actor.user_id)
    if owned >= quota.organizations:
        raise QuotaExceeded(
            quota,
            "organizations",
            quota.organizations,
            f"You already own {owned} organization(s); delete one or ask for another plan",
        )


async def create_organization(
    db: AsyncSession, actor: Actor, body: OrganizationCreate, settings: Settings
) -> AccountOut:
    if actor.user_id is None:
        raise NotAUser()
    if actor.scopes is not None:
        raise FullAccessRequired()
    name = body.name.strip()
    if not name or name.lower() == "personal" or parse_uuid(name) is not None:
        raise ValidationFailed("name: must not be empty, 'personal', or look like an account id")
    if await repo.organization_named(db, name) is not None:
        raise OrganizationNameTaken(f"An organization named '{name}' already exists")
    await _check_organization_quota(db, actor, settings)
    account = Account(name=name, kind="organization")
    db.add(account)
    await db.flush()
    db.add(Membership(account_id=account.id, user_id=actor.user_id, role="owner"))
    await db.flush()
    record(db, actor, "organization.create", "account", account.id, summary=name, account_id=account.id)
    return _account_out(account, "owner")


async def list_members(db: AsyncSession, actor: Actor, paging: PageParams) -> Page[MemberOut]:
    rows, total = await repo.members(db, actor.account_id, paging)
    return paging.page([_member_out(m, u) for m, u in rows], total)


def _organization_only(actor: Actor) -> None:
    if actor.account.kind != "organization":
        raise PersonalAccount()


async def add_member(db: AsyncSession, actor: Actor, body: MemberAdd) -> MemberOut:
    _organization_only(actor)
    require_admin(actor, "add members")
    if body.role == "owner" and actor.role != "owner":
        raise Forbidden("Only an owner can make someone an owner")
    user = await auth_repo.get_user_by_email(db, str(body.email))
    if user is None:
        raise UserNotFound(f"No user with email {body.email}; they must register first")
    if await auth_repo.membership(db, actor.account_id, user.id) is not None:
        raise AlreadyMember(f"{user.email} is already a member of this account")
    member = Membership(account_id=actor.account_id, user_id=user.id, role=body.role)
    db.add(member)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise AlreadyMember(f"{user.email} is already a member of this account") from exc
    record(db, actor, "member.add", "user", user.id, metadata={"role": body.role, "email": user.email})
    return _member_out(member, user)


async def _member(db: AsyncSession, actor: Actor, user_id: uuid.UUID) -> tuple[Membership, User]:
    found = await repo.member_with_user(db, actor.account_id, user_id)
    if found is None:
        raise MemberNotFound("No such member in this account")
    return found


async def update_member(db: AsyncSession, actor: Actor, user_id: uuid.UUID, body: MemberUpdate) -> MemberOut:
    _organization_only(actor)
    require_admin(actor, "change member roles")
    member, user = await _member(db, actor, user_id)
    if (body.role == "owner" or member.role == "owner") and actor.role != "owner":
        raise Forbidden("Only an owner can grant or revoke the owner role")
    if member.role == "owner" and body.role != "owner" and await repo.owner_count(db, actor.account_id) <= 1:
        raise LastOwner()
    previous = member.role
    member.role = body.role
    await db.flush()
    record(db, actor, "member.update", "user", user.id, metadata={"role": body.role, "previous": previous})
    return _member_out(member, user)


async def remove_member(db: AsyncSession, actor: Actor, user_id: uuid.UUID) -> None:
    _organization_only(actor)
    if actor.user_id != user_id:
        require_admin(actor, "remove members")
    member, user = await _member(db, actor, user_id)
    if member.role == "owner" and actor.role != "owner":
        raise Forbidden("Only an owner can remove an owner")
    if member.role == "owner" and await repo.owner_count(db, actor.account_id) <= 1:
        raise LastOwner()
    await db.delete(member)
    await db.flush()
    record(db, actor, "member.remove", "user", user.id, metadata={"email": user.email})


async def list_service_accounts(
    db: AsyncSession, actor: Actor, paging: PageParams
) -> Page[ServiceAccountOut]:
    rows, total = await repo.service_accounts(db, actor.account_id, paging)
    return paging.page([ServiceAccountOut.model_validate(sa) for sa in rows], total)


async def create_service_account(
    db: AsyncSession, actor: Actor, body: ServiceAccountCreate
) -> ServiceAccountOut:
    require_admin(actor, "create service accounts")
    sa = ServiceAccount(
        account_id=actor.account_id,
        name=body.name.strip(),
        description=body.description,
        created_by=actor.user_id,
    )
    db.add(sa)
    await db.flush()
    record(db, actor, "service_account.create", "service_account", sa.id, summary=sa.name)
    return ServiceAccountOut.model_validate(sa)


async def get_service_account(db: AsyncSession, actor: Actor, sa_id: uuid.UUID) -> ServiceAccount:
    sa = await repo.service_account(db, actor.account_id, sa_id)
    if sa is None:
        raise ServiceAccountNotFound("No such service account in this account")
    return sa


async def delete_service_account(db: AsyncSession, actor: Actor, sa_id: uuid.UUID) -> None:
    require_admin(actor, "delete service accounts")
    sa = await get_service_account(db, actor, sa_id)
    await keys_repo.revoke_for_service_account(db, sa.id, utcnow())
    await db.delete(sa)
    await db.flush()
    record(db, actor, "service_account.delete", "service_account", sa_id, summary=sa.name)


async def list_service_account_keys(
    db: AsyncSession, actor: Actor, sa_id: uuid.UUID, paging: PageParams
) -> Page[KeyOut]:
    require_admin(actor, "see service account keys", full_access=False)
    sa = await get_service_account(db, actor, sa_id)
    keys, total = await keys_repo.page(db, keys_repo.of_service_account(sa.id), paging)
    return paging.page([KeyOut.model_validate(k) for k in keys], total)


async def create_service_account_key(
    db: AsyncSession, actor: Actor, secret_key: str, sa_id: uuid.UUID, body: KeyCreate
) -> KeyCreated:
    require_admin(actor, "create service account keys", full_access=False)
    sa = await get_service_account(db, actor, sa_id)
    return await keys_service.create_key(db, actor, secret_key, body, service_account_id=sa.id)


async def revoke_service_account_key(
    db: AsyncSession, actor: Actor, sa_id: uuid.UUID, key_id: uuid.UUID
) -> KeyOut:
    require_admin(actor, "revoke service account keys", full_access=False)
    sa = await get_service_account(db, actor, sa_id)
    key = await keys_repo.get_for_account(db, actor.account_id, key_id)
    if key is None or key.service_account_id != sa.id:
        raise KeyNotFound("No such key on this service account")
    return keys_service.revoke(db, actor, key)
