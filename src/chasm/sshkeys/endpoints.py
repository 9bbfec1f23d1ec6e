"""/v1/ssh-keys: OpenSSH public keys of the active account (spec 002)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import Page
from chasm.sshkeys import service
from chasm.sshkeys.schemas import SshKeyCreate, SshKeyOut

router = APIRouter(prefix="/v1/ssh-keys", tags=[Tag.SSH_KEYS])

Reader = Annotated[Actor, Depends(require_scope("keys.read"))]
Writer = Annotated[Actor, Depends(require_scope("keys.write"))]


@router.get("")
async def list_ssh_keys(actor: Reader, db: DbSession, paging: Paging) -> Page[SshKeyOut]:
    """SSH public keys registered on the active account, oldest first."""
    return await service.list_keys(db, actor, paging)


@router.post("", status_code=201)
async def add_ssh_key(body: SshKeyCreate, actor: Writer, db: DbSession) -> SshKeyOut:
    """Register an OpenSSH public key (ed25519, ECDSA, or RSA of at least 2048 bits)."""
    return await service.add_key(db, actor, body)


@router.delete("/{key_id}", status_code=204)
async def delete_ssh_key(key_id: uuid.UUID, actor: Writer, db: DbSession) -> Response:
    """Remove an SSH key from the active account."""
    await service.delete_key(db, actor, key_id)
    return Response(status_code=204)
