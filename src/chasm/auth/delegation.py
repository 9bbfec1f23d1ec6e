"""Work done later on a caller's behalf (a swarm run's job) acts as that caller, not with the job's
full identity: its principal, role and key scopes are recorded when the work is enqueued, and
checked again when the work runs (a key revoked or expired meanwhile, a user no longer a member,
stops it). The tool layer and the routes' services then see an ordinary, limited `Actor`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth import repository as auth_repo
from chasm.auth.actor import Actor
from chasm.auth.exceptions import DelegationRevoked
from chasm.kit.timeutil import utcnow
from chasm.models import Account, ApiKey


class Delegated(BaseModel):
    """Who asked for the work, as recorded in its job's input."""

    model_config = ConfigDict(extra="forbid")

    type: str  # user | service_account | job
    id: uuid.UUID
    role: str
    scopes: list[str] | None  # None: full access (a session, or a key without scopes)
    api_key_id: uuid.UUID | None = None


def delegate(actor: Actor) -> Delegated:
    return Delegated(
        type=actor.principal_type,
        id=actor.principal_id,
        role=actor.role,
        scopes=sorted(actor.scopes) if actor.scopes is not None else None,
        api_key_id=actor.api_key_id,
    )


async def act_as(db: AsyncSession, account: Account, who: Delegated) -> Actor:
    """The caller who asked for the work, as it may act now (never more than when it asked)."""
    role = who.role
    if who.api_key_id is not None:
        key = await db.get(ApiKey, who.api_key_id)
        if key is None or key.revoked_at is not None:
            raise DelegationRevoked("The API key that started this work was revoked")
        if key.expires_at is not None and key.expires_at <= utcnow():
            raise DelegationRevoked("The API key that started this work has expired")
    if who.type == "user":
        member = await auth_repo.membership(db, account.id, who.id)
        if member is None:
            raise DelegationRevoked("The user who started this work is no longer a member of its account")
        role = member.role
    scopes = frozenset(who.scopes) if who.scopes is not None else None
    return Actor(who.type, who.id, account, role, scopes, via="job", api_key_id=who.api_key_id)
