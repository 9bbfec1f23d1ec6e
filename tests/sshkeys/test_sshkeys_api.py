from __future__ import annotations

import base64

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from auth.idhelpers import client_for, make_key, user_client

# A key and the fingerprint `ssh-keygen -lf` printed for it.
KNOWN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMzKmoCvgAdK4Q3pVr6KhmJbbFj8wHBlOZGhlqEl/ZjS test@chasm"
KNOWN_FINGERPRINT = "SHA256:Z5ndF9A3wykrkX93ZEJ6Z2FZyP/T74ps+QbKEzQpNkM"


def openssh(private: object) -> str:
    public = private.public_key()  # type: ignore[attr-defined]
    return str(public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode())


async def test_register_list_and_delete(admin: httpx.AsyncClient) -> None:
    r = await admin.post("/v1/ssh-keys", json={"name": "laptop", "public_key": KNOWN_KEY + "\n"})
    assert r.status_code == 201, r.text
    key = r.json()
    assert key["fingerprint"] == KNOWN_FINGERPRINT
    assert key["key_type"] == "ssh-ed25519"
    assert key["bits"] == 256
    assert key["public_key"] == KNOWN_KEY

    listed = (await admin.get("/v1/ssh-keys")).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]

    r = await admin.post("/v1/ssh-keys", json={"name": "again", "public_key": KNOWN_KEY.rsplit(" ", 1)[0]})
    assert r.status_code == 409
    assert "laptop" in r.json()["error"]["message"]

    assert (await admin.delete(f"/v1/ssh-keys/{key['id']}")).status_code == 204
    assert (await admin.get("/v1/ssh-keys")).json()["items"] == []
    assert (await admin.delete(f"/v1/ssh-keys/{key['id']}")).status_code == 404


async def test_accepted_key_types(admin: httpx.AsyncClient) -> None:
    cases = [
        (ed25519.Ed25519PrivateKey.generate(), "ssh-ed25519", 256),
        (ec.generate_private_key(ec.SECP256R1()), "ecdsa-sha2-nistp256", 256),
        (ec.generate_private_key(ec.SECP384R1()), "ecdsa-sha2-nistp384", 384),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "ssh-rsa", 2048),
    ]
    for private, key_type, bits in cases:
        r = await admin.post("/v1/ssh-keys", json={"name": key_type, "public_key": openssh(private)})
        assert r.status_code == 201, r.text
        assert (r.json()["key_type"], r.json()["bits"]) == (key_type, bits)
        assert r.json()["fingerprint"].startswith("SHA256:")


async def test_rejected_keys_say_why(admin: httpx.AsyncClient) -> None:
    weak = openssh(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    old = "ssh-dss " + base64.b64encode(b"\x00\x00\x00\x07ssh-dss" + bytes(64)).decode()
    cases = {
        weak: "at least 2048 bits",
        old: "ssh-dss",
        "hello world": "Unsupported key type",
        "ssh-ed25519 not*base64!": "base64",
        "ssh-ed25519": "expected '<type> <base64> [comment]'",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMzKmoCvgAdK": "",
        KNOWN_KEY.replace("ssh-ed25519", "ssh-rsa", 1): "",
    }
    for text, hint in cases.items():
        r = await admin.post("/v1/ssh-keys", json={"name": "bad", "public_key": text})
        assert r.status_code == 400, (text, r.text)
        assert r.json()["error"]["code"] == "invalid_ssh_key"
        assert hint in r.json()["error"]["message"]
    assert (await admin.get("/v1/ssh-keys")).json()["items"] == []


async def test_ssh_keys_are_per_account_and_scoped(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    mine = (await admin.post("/v1/ssh-keys", json={"name": "a", "public_key": KNOWN_KEY})).json()
    other, _ = await user_client(app, client, "olive@example.com")
    async with other:
        assert (await other.get("/v1/ssh-keys")).json()["items"] == []
        assert (await other.delete(f"/v1/ssh-keys/{mine['id']}")).status_code == 404
        # The same public key may be registered on another account.
        r = await other.post("/v1/ssh-keys", json={"name": "a", "public_key": KNOWN_KEY})
        assert r.status_code == 201
    reader = await make_key(admin, scopes=["keys.read"])
    async with client_for(app, reader) as c:
        assert (await c.get("/v1/ssh-keys")).status_code == 200
        r = await c.post("/v1/ssh-keys", json={"name": "b", "public_key": KNOWN_KEY})
        assert r.status_code == 403
