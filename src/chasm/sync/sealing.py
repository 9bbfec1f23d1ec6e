"""What leaves the machine: every object compressed, and with `encryption_enabled` sealed with
AES-256-GCM under a key derived from the server's `sync_encryption_key` (scrypt, salted with the
remote library's own random salt). The object's name is the associated data, so an object moved
to another name does not open. Tags in object names are keyed (HMAC) when encrypted, so they tell
nothing about the content."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chasm.sync.exceptions import SyncCorrupt, SyncWrongKey

CHECK = b"chasm-sync key check"
NONCE = 12


def derive_key(passphrase: str, salt: bytes) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class Sealer:
    key: bytes | None  # None: compressed only

    def tag(self, digest: str) -> str:
        if self.key is None:
            return digest[:32]
        return hmac.new(self.key, digest.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, name: str, data: bytes) -> bytes:
        packed = zlib.compress(data, 6)
        if self.key is None:
            return packed
        nonce = os.urandom(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, packed, name.encode())

    def open(self, name: str, blob: bytes) -> bytes:
        packed = blob
        if self.key is not None:
            try:
                packed = AESGCM(self.key).decrypt(blob[:NONCE], blob[NONCE:], name.encode())
            except (InvalidTag, ValueError) as exc:
                raise SyncWrongKey(f"{name} does not open with this key") from exc
        try:
            return zlib.decompress(packed)
        except zlib.error as exc:
            raise SyncCorrupt(f"{name} is not a chasm sync object") from exc

    def check_token(self) -> str:
        return base64.b64encode(self.seal("manifest", CHECK)).decode()

    def verify(self, token: str) -> None:
        try:
            opened = self.open("manifest", base64.b64decode(token))
        except (ValueError, SyncCorrupt) as exc:
            raise SyncWrongKey(
                "the sync encryption key does not match the one this library was made with"
            ) from exc
        if opened != CHECK:
            raise SyncWrongKey("the sync encryption key does not match the one this library was made with")
