"""The yardstick of bench.request_path: a bare FastAPI app answering the JSON that
GET /v1/accounts/current answers, with nothing else (no auth, no database, no middleware)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

BODY: dict[str, Any] = {
    "id": "5c0f9a52-7a43-4c56-9d7e-3f5d1f0e2a11",
    "name": "owner@localhost",
    "kind": "personal",
    "plan": "free",
    "role": "owner",
    "created_at": "2026-01-01T00:00:00Z",
}


@app.get("/v1/accounts/current")
async def current_account() -> dict[str, Any]:
    return BODY
