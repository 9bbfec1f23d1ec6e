"""Password hashing, keyed hashes for API keys, and symmetric encryption of stored secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()


def configure_password_hashing(time_cost: int, memory_kib: int) -> None:
    """Set argon2id's cost for new hashes (existing hashes keep verifying with their own)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def keyed_hash(secret_key: str, value: str) -> str:
    """HMAC-SHA256 of value; what is stored for API keys and other bearer secrets."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def digest(value: str) -> str:
    """SHA-256 of value: what is stored of a random single-use secret (an OAuth state)."""
    return hashlib.sha256(value.encode()).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class Box:
    """Encrypts small secrets at rest with a key derived from the server secret."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"chasm-box:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with this server key") from exc
