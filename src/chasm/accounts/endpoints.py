"""/v1/accounts: accounts, organizations, members and service accounts (spec 002, 004)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from chasm.accounts import service
from chasm.accounts.schemas import (
    AccountOut,
    MemberAdd,
    MemberOut,
    MemberUpdate,
    OrganizationCreate,
    ServiceAccountCreate,
    ServiceAccountOut,
)
from chasm.auth.actor import Actor
from chasm.auth.deps import CurrentActor, SecretKey, require_scope
from chasm.keys.schemas import KeyCreate, KeyCreated, KeyOut
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession, Paging
from chasm.kit.pagination import Page

router = APIRouter(prefix="/v1/accounts", tags=[Tag.ACCOUNTS])

KeyReader = Annotated[Actor, Depends(require_scope("keys.read"))]
KeyWriter = Annotated[Actor, Depends(require_scope("keys.write"))]


@router.get("")
async def list_accounts(actor: CurrentActor, db: DbSession, paging: Paging) -> Page[AccountOut]:
    """Accounts the caller belongs to, with the caller's role in each (personal first)."""
    return await service.list_accounts(db, actor, paging)


@router.get("/current")
async def current_account(actor: CurrentActor) -> AccountOut:
    """The active account (chosen with X-Chaser-Account)."""
    return service.current_account(actor)


@router.post("/organizations", status_code=201)
async def create_organization(
    body: OrganizationCreate, actor: CurrentActor, db: DbSession, settings: AppSettings
) -> AccountOut:
    """Create an organization; the caller becomes its owner."""
    return await service.create_organization(db, actor, body, settings)


@router.get("/current/members")
async def list_members(actor: CurrentActor, db: DbSession, paging: Paging) -> Page[MemberOut]:
    """Members of the active account with their roles, in the order they joined."""
    return await service.list_members(db, actor, paging)


@router.post("/current/members", status_code=201)
async def add_member(body: MemberAdd, actor: CurrentActor, db: DbSession) -> MemberOut:
    """Add a registered user to the active organization."""
    return await service.add_member(db, actor, body)


@router.patch("/current/members/{uid}")
async def update_member(uid: uuid.UUID, body: MemberUpdate, actor: CurrentActor, db: DbSession) -> MemberOut:
    """Change a member's role."""
    return await service.update_member(db, actor, uid, body)


@router.delete("/current/members/{uid}", status_code=204)
async def remove_member(uid: uuid.UUID, actor: CurrentActor, db: DbSession) -> Response:
    """Remove a member from the active organization."""
    await service.remove_member(db, actor, uid)
    return Response(status_code=204)


@router.get("/current/service-accounts")
async def list_service_accounts(
    actor: CurrentActor, db: DbSession, paging: Paging
) -> Page[ServiceAccountOut]:
    """Service accounts of the active account, oldest first."""
    return await service.list_service_accounts(db, actor, paging)


@router.post("/current/service-accounts", status_code=201)
async def create_service_account(
    body: ServiceAccountCreate, actor: CurrentActor, db: DbSession
) -> ServiceAccountOut:
    """Create a service account for automation."""
    return await service.create_service_account(db, actor, body)


@router.delete("/current/service-accounts/{said}", status_code=204)
async def delete_service_account(said: uuid.UUID, actor: CurrentActor, db: DbSession) -> Response:
    """Delete a service account and revoke its keys."""
    await service.delete_service_account(db, actor, said)
    return Response(status_code=204)


@router.get("/current/service-accounts/{said}/keys")
async def list_service_account_keys(
    said: uuid.UUID, actor: KeyReader, db: DbSession, paging: Paging
) -> Page[KeyOut]:
    """API keys of a service account, newest first."""
    return await service.list_service_account_keys(db, actor, said, paging)


@router.post("/current/service-accounts/{said}/keys", status_code=201)
async def create_service_account_key(
    said: uuid.UUID, body: KeyCreate, actor: KeyWriter, db: DbSession, secret: SecretKey
) -> KeyCreated:
    """Mint a key for a service account; the secret is in this response only."""
    return await service.create_service_account_key(db, actor, secret, said, body)


@router.delete("/current/service-accounts/{said}/keys/{kid}")
async def revoke_service_account_key(
    said: uuid.UUID, kid: uuid.UUID, actor: KeyWriter, db: DbSession
) -> KeyOut:
    """Revoke a service account's key."""
    return await service.revoke_service_account_key(db, actor, said, kid)
