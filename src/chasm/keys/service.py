"""Minting API keys: `sk_` + random secret; only its keyed hash is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.auth.scopes import SCOPES
from chasm.keys import repository as repo
from chasm.keys.exceptions import KeyNotFound, ScopeEscalation
from chasm.keys.schemas import KeyCreate, KeyCreated, KeyOut
from chasm.kit.crypto import keyed_hash, random_token
from chasm.kit.errors import BadRequest, ValidationFailed
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import ApiKey

KEY_PREFIX = "sk_"


def validate_scopes(scopes: list[str] | None) -> list[str] | None:
    if not scopes:
        return None
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise BadRequest(
            f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(SCOPES)}",
            code="invalid_scope",
        )
    return sorted(set(scopes))


async def mint_key(
    db: AsyncSession,
    secret_key: str,
    *,
    account_id: uuid.UUID,
    name: str,
    user_id: uuid.UUID | None = None,
    service_account_id: uuid.UUID | None = None,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext secret (shown to the caller once)."""
    secret = KEY_PREFIX + random_token(32)
    key = ApiKey(
        account_id=account_id,
        user_id=user_id,
        service_account_id=service_account_id,
        name=name,
        prefix=secret[:12],
        key_hash=keyed_hash(secret_key, secret),
        scopes=validate_scopes(scopes),
        expires_at=expires_at,
    )
    db.add(key)
    await db.flush()
    return key, secret


def _check_grant(actor: Actor, scopes: list[str] | None) -> None:
    """A restricted credential can only mint keys restricted to scopes it holds itself."""
    if actor.scopes is None:
        return
    if not scopes:
        raise ScopeEscalation("A scoped key cannot create a full-access key; list the scopes it should hold")
    missing = sorted(set(scopes) - actor.scopes)
    if missing:
        raise ScopeEscalation(f"This key cannot grant scopes it does not hold: {', '.join(missing)}")


async def create_key(
    db: AsyncSession,
    actor: Actor,
    secret_key: str,
    body: KeyCreate,
    *,
    service_account_id: uuid.UUID | None = None,
) -> KeyCreated:
    """A key bound to the actor's active account, owned by the actor (or the given service account)."""
    scopes = validate_scopes(body.scopes)
    _check_grant(actor, scopes)
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise ValidationFailed("expires_at: must be in the future")
    if service_account_id is None and actor.is_service_account:
        service_account_id = actor.principal_id
    key, secret = await mint_key(
        db,
        secret_key,
        account_id=actor.account_id,
        name=body.name.strip() or "key",
        user_id=None if service_account_id else actor.user_id,
        service_account_id=service_account_id,
        scopes=scopes,
        expires_at=body.expires_at,
    )
    record(
        db,
        actor,
        "api_key.create",
        "api_key",
        key.id,
        summary=key.name,
        metadata={
            "scopes": scopes,
            "service_account_id": str(service_account_id) if service_account_id else None,
        },
    )
    return KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": secret})


def _is_admin(actor: Actor) -> bool:
    return actor.principal_type == "user" and actor.role in ("owner", "admin")


async def list_keys(db: AsyncSession, actor: Actor, paging: PageParams) -> Page[KeyOut]:
    """Members see their own keys, owners and admins every user key; a service account its own."""
    if actor.is_service_account:
        query = repo.of_service_account(actor.principal_id)
    elif _is_admin(actor):
        query = repo.of_account(actor.account_id)
    else:
        query = repo.of_account(actor.account_id, user_id=actor.principal_id)
    keys, total = await repo.page(db, query, paging)
    return paging.page([KeyOut.model_validate(k) for k in keys], total)


def _visible(actor: Actor, key: ApiKey) -> bool:
    if _is_admin(actor):
        return True
    if actor.is_service_account:
        return key.service_account_id == actor.principal_id
    return key.user_id == actor.principal_id and key.service_account_id is None


def revoke(db: AsyncSession, actor: Actor, key: ApiKey) -> KeyOut:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record(db, actor, "api_key.revoke", "api_key", key.id, summary=key.name)
    return KeyOut.model_validate(key)


async def revoke_key(db: AsyncSession, actor: Actor, key_id: uuid.UUID) -> KeyOut:
    key = await repo.get_for_account(db, actor.account_id, key_id)
    if key is None or not _visible(actor, key):
        raise KeyNotFound("No such API key in this account")
    out = revoke(db, actor, key)
    await db.flush()
    return out
