"""/v1/keys: API keys of the active account (spec 002)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from chasm.auth.actor import Actor
from chasm.auth.deps import SecretKey, require_scope
from chasm.keys import service
from chasm.keys.schemas import KeyCreate, KeyCreated, KeyOut
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import Page

router = APIRouter(prefix="/v1/keys", tags=[Tag.API_KEYS])

Reader = Annotated[Actor, Depends(require_scope("keys.read"))]
Writer = Annotated[Actor, Depends(require_scope("keys.write"))]


@router.get("")
async def list_keys(actor: Reader, db: DbSession, paging: Paging) -> Page[KeyOut]:
    """API keys visible to the caller in the active account, newest first (never their secrets)."""
    return await service.list_keys(db, actor, paging)


@router.post("", status_code=201)
async def create_key(body: KeyCreate, actor: Writer, db: DbSession, secret: SecretKey) -> KeyCreated:
    """Create a key bound to the active account; `key` (the secret) is shown only here."""
    return await service.create_key(db, actor, secret, body)


@router.delete("/{key_id}")
async def revoke_key(key_id: uuid.UUID, actor: Writer, db: DbSession) -> KeyOut:
    """Revoke a key; it stops authenticating at once."""
    return await service.revoke_key(db, actor, key_id)
