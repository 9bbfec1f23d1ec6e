"""Helpers of the browser tests: sessions made through the API, a raw CDP client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import websockets


async def create_browser(admin: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("session_type", "browser")
    if "workspace" not in body:
        body.setdefault("ephemeral", True)
    response = await admin.post("/v1/sessions", json=body)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


class RawCdp:
    """A plain DevTools WebSocket client (no Playwright)."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.next_id = 0

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str]) -> RawCdp:
        socket = await websockets.connect(url, additional_headers=headers, max_size=None)
        return cls(socket)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        await self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

    async def close(self) -> None:
        await self.socket.close()
