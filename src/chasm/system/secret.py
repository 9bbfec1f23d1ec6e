"""The server secret signs JWTs, keys the API-key hashes and encrypts stored tokens.

Every server of one installation (processes on one host, or hosts sharing a PostgreSQL database)
must hold the same secret: set `CHASM_SECRET_KEY` on each, or copy the first server's
`<data dir>/secret.key`. The database keeps a fingerprint of the secret it was set up with, and a
server holding another one refuses to start (`check_secret`) rather than reject every API key.
"""

from __future__ import annotations

import hmac
import os
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.config import Settings
from chasm.kit.crypto import keyed_hash
from chasm.kit.db import transaction
from chasm.models import InstanceFact

FINGERPRINT = "secret_fingerprint"
FINGERPRINT_INPUT = "chasm: which secret made this database"


class SecretMismatch(RuntimeError):
    pass


def load_or_create_secret(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


async def check_secret(maker: async_sessionmaker[AsyncSession], secret: str) -> None:
    """Record the secret's fingerprint on a new database; on one that has it, insist on the same."""
    fingerprint = keyed_hash(secret, FINGERPRINT_INPUT)
    for _ in range(2):  # a second server may record it between our read and our insert
        try:
            async with transaction(maker) as db:
                found = await db.get(InstanceFact, FINGERPRINT)
                if found is None:
                    db.add(InstanceFact(name=FINGERPRINT, value=fingerprint))
                    return
        except IntegrityError:
            continue
        if hmac.compare_digest(found.value, fingerprint):
            return
        raise SecretMismatch(
            "This database was set up by a server with another secret key: its API keys, tokens "
            "and stored credentials would not verify. Give every server the same CHASM_SECRET_KEY "
            "(the first server's is in its data dir, secret.key)."
        )
