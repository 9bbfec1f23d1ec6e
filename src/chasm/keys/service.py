"""Minting API keys: `sk_` + random secret; only its keyed hash is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.scopes import SCOPES
from chasm.kit.crypto import keyed_hash, random_token
from chasm.kit.errors import BadRequest
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
    session: AsyncSession,
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
    session.add(key)
    await session.flush()
    return key, secret
