"""Helpers shared by the identity tests: users, tokens and keys made through the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

PASSWORD = "correct horse battery"


async def register(client: httpx.AsyncClient, email: str, name: str | None = None) -> dict[str, Any]:
    r = await client.post("/auth/register", json={"email": email, "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def client_for(app: FastAPI, token: str, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8787",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


async def user_client(app: FastAPI, client: httpx.AsyncClient, email: str) -> tuple[httpx.AsyncClient, str]:
    """A client logged in as a new user, and the user's id."""
    body = await register(client, email)
    return client_for(app, body["access_token"]), body["user"]["id"]


async def make_key(
    admin: httpx.AsyncClient, name: str = "k", scopes: list[str] | None = None, **extra: Any
) -> str:
    r = await admin.post("/v1/keys", json={"name": name, "scopes": scopes, **extra})
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key
