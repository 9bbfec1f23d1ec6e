"""SSH public keys registered on an account (used to reach its sandboxes)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.kit.pagination import Page, PageParams
from chasm.models import SshKey
from chasm.sshkeys import repository as repo
from chasm.sshkeys.exceptions import DuplicateSshKey, SshKeyNotFound
from chasm.sshkeys.parsing import parse_public_key
from chasm.sshkeys.schemas import SshKeyCreate, SshKeyOut


async def list_keys(db: AsyncSession, actor: Actor, paging: PageParams) -> Page[SshKeyOut]:
    rows, total = await repo.for_account(db, actor.account_id, paging)
    return paging.page([SshKeyOut.model_validate(k) for k in rows], total)


async def add_key(db: AsyncSession, actor: Actor, body: SshKeyCreate) -> SshKeyOut:
    parsed = parse_public_key(body.public_key)
    existing = await repo.by_fingerprint(db, actor.account_id, parsed.fingerprint)
    if existing is not None:
        raise DuplicateSshKey(f"This key is already registered on the account as '{existing.name}'")
    key = SshKey(
        account_id=actor.account_id,
        user_id=actor.user_id,
        name=body.name.strip() or parsed.comment or parsed.key_type,
        key_type=parsed.key_type,
        bits=parsed.bits,
        fingerprint=parsed.fingerprint,
        public_key=parsed.public_key,
    )
    db.add(key)
    try:
        await db.flush()
    except IntegrityError as exc:  # registered concurrently
        raise DuplicateSshKey("This key is already registered on the account") from exc
    record(
        db,
        actor,
        "ssh_key.create",
        "ssh_key",
        key.id,
        summary=key.name,
        metadata={"fingerprint": key.fingerprint},
    )
    return SshKeyOut.model_validate(key)


async def delete_key(db: AsyncSession, actor: Actor, key_id: uuid.UUID) -> None:
    key = await repo.get(db, actor.account_id, key_id)
    if key is None:
        raise SshKeyNotFound("No such SSH key in this account")
    await db.delete(key)
    await db.flush()
    record(
        db,
        actor,
        "ssh_key.delete",
        "ssh_key",
        key_id,
        summary=key.name,
        metadata={"fingerprint": key.fingerprint},
    )
