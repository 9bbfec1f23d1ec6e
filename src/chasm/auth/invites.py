"""Invitation codes: with `registration = invite`, a new user registers with a code the instance
administrator created. Codes are single use, expire, and are stored as keyed hashes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts.quotas import is_instance_admin
from chasm.audit.service import record
from chasm.auth import repository as repo
from chasm.auth.actor import Actor
from chasm.auth.exceptions import InvalidInvite, InviteNotFound
from chasm.auth.schemas import InviteCreate, InviteCreated, InviteOut
from chasm.kit.crypto import keyed_hash, random_token
from chasm.kit.errors import Forbidden
from chasm.kit.ids import parse_uuid
from chasm.kit.timeutil import utcnow
from chasm.models import Invite

CODE_PREFIX = "inv_"


async def require_instance_admin(db: AsyncSession, actor: Actor) -> None:
    if actor.scopes is not None or not await is_instance_admin(db, actor):
        raise Forbidden(
            "Only the instance administrator, with a full-access credential, manages invitations",
            code="instance_admin_required",
        )


def _out(invite: Invite) -> InviteOut:
    return InviteOut.model_validate(invite, from_attributes=True)


async def create(db: AsyncSession, actor: Actor, secret_key: str, body: InviteCreate) -> InviteCreated:
    await require_instance_admin(db, actor)
    code = CODE_PREFIX + random_token(24)
    invite = Invite(
        code_hash=keyed_hash(secret_key, code),
        note=body.note,
        created_by=actor.user_id,
        expires_at=utcnow() + timedelta(days=body.expires_in_days),
    )
    db.add(invite)
    await db.flush()
    record(db, actor, "invite.create", "invite", invite.id, summary=body.note)
    return InviteCreated(**_out(invite).model_dump(), code=code)


async def list_invites(db: AsyncSession, actor: Actor) -> Sequence[InviteOut]:
    await require_instance_admin(db, actor)
    return [_out(i) for i in await repo.invites(db)]


async def revoke(db: AsyncSession, actor: Actor, invite_id: str) -> None:
    await require_instance_admin(db, actor)
    iid = parse_uuid(invite_id)
    invite = await db.get(Invite, iid) if iid else None
    if invite is None:
        raise InviteNotFound(invite_id)
    await db.delete(invite)
    record(db, actor, "invite.revoke", "invite", invite.id)


async def redeem(db: AsyncSession, secret_key: str, code: str | None, user_id: uuid.UUID) -> None:
    """Spend an invitation for the new user; 403 `invalid_invite` when unknown, used or expired.
    One conditional UPDATE: two registrations racing for one code cannot both win."""
    if not code:
        raise InvalidInvite(
            "This server admits new users by invitation only: register with the invite_code "
            "its administrator gave you"
        )
    if not await repo.spend_invite(db, keyed_hash(secret_key, code.strip()), user_id, utcnow()):
        raise InvalidInvite("Unknown, used or expired invitation code")
