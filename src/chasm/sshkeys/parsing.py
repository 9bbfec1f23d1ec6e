"""OpenSSH public keys: parse with `cryptography`, check the algorithm, fingerprint like ssh-keygen."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_ssh_public_key

from chasm.sshkeys.exceptions import InvalidSshKey

MIN_RSA_BITS = 2048
KEY_TYPES = frozenset(
    {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"}
)
ACCEPTED = "ssh-ed25519, ecdsa-sha2-nistp256/384/521, or ssh-rsa of at least 2048 bits"


@dataclass(frozen=True)
class ParsedKey:
    key_type: str
    bits: int
    fingerprint: str
    public_key: str  # normalised "type base64 [comment]"
    comment: str | None


def fingerprint(blob: bytes) -> str:
    """SHA256 fingerprint as `ssh-keygen -l` prints it: unpadded base64 of the blob's digest."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_public_key(text: str) -> ParsedKey:
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        raise InvalidSshKey(f"Not an OpenSSH public key: expected '<type> <base64> [comment]' ({ACCEPTED})")
    type_name, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) > 2 else None
    if type_name not in KEY_TYPES:
        raise InvalidSshKey(f"Unsupported key type '{type_name}'; use {ACCEPTED}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSshKey("The key's second field is not valid base64") from exc
    try:
        key = load_ssh_public_key(f"{type_name} {encoded}".encode())
    except UnsupportedAlgorithm as exc:
        raise InvalidSshKey(f"Unsupported key type '{type_name}'; use {ACCEPTED}") from exc
    except ValueError as exc:
        raise InvalidSshKey(f"Cannot parse the public key ({exc}); use {ACCEPTED}") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        bits = 256
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    elif isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < MIN_RSA_BITS:
            raise InvalidSshKey(f"RSA keys must have at least {MIN_RSA_BITS} bits; this one has {bits}")
    else:
        raise InvalidSshKey(f"Unsupported key type '{type_name}'; use {ACCEPTED}")
    canonical = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    canonical_type, canonical_b64 = canonical.split(" ", 1)
    if canonical_type != type_name or base64.b64decode(canonical_b64) != blob:
        raise InvalidSshKey("The key's type field does not match its contents")
    return ParsedKey(
        key_type=canonical_type,
        bits=bits,
        fingerprint=fingerprint(blob),
        public_key=canonical + (f" {comment}" if comment else ""),
        comment=comment,
    )
