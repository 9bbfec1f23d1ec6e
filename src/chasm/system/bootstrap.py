"""First start: an empty database gets a local owner (an instance administrator) with a personal
account and an admin key."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.accounts.quotas import INSTANCE_OWNER_EMAIL, PAID_PLAN
from chasm.accounts.service import create_user
from chasm.audit.service import record
from chasm.auth import repository as auth_repo
from chasm.keys.service import mint_key
from chasm.kit.db import transaction

log = logging.getLogger("chasm")

LOCAL_OWNER_EMAIL = INSTANCE_OWNER_EMAIL


async def bootstrap_owner(maker: async_sessionmaker[AsyncSession], secret_key: str) -> str | None:
    """Create the local owner if there is no user yet; return the admin key's secret (once)."""
    async with transaction(maker) as db:
        if await auth_repo.user_count(db):
            return None
        user, account = await create_user(db, LOCAL_OWNER_EMAIL, None, "Local owner", email_verified=True)
        user.is_instance_admin = True
        account.plan = PAID_PLAN
        key, secret = await mint_key(
            db, secret_key, account_id=account.id, user_id=user.id, name="bootstrap admin key"
        )
        record(
            db,
            None,
            "api_key.create",
            "api_key",
            key.id,
            summary="bootstrap admin key for the local owner",
            account_id=account.id,
        )
    return secret
