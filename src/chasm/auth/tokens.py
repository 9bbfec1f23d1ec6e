"""JWT access tokens (short-lived, HS256, signed with the server secret)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt

from chasm.kit.timeutil import utcnow

ISSUER = "chasm"


def issue_access_token(secret: str, user_id: uuid.UUID, ttl_s: int, **claims: Any) -> str:
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
        "typ": "access",
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_access_token(secret: str, token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, or None."""
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None
