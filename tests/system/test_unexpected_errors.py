"""A bug answers 500 in the documented shape on a real server, and the client's keep-alive
connection survives it."""

from __future__ import annotations

import asyncio
import http.client
import json

from fastapi import FastAPI

from chasm.config import Settings
from chasm.kit.surface import ApiRoute
from sessions.fixtures import LiveServer


async def _boom() -> None:
    raise RuntimeError("a bug")


async def test_a_500_keeps_the_connection(settings: Settings) -> None:
    from chasm.app import create_app

    app: FastAPI = create_app(settings)
    app.add_api_route("/v1/boom", _boom)
    # A chat-surface route, ahead of the surface's catch-all.
    app.router.add_api_route("/api/boom", _boom, route_class_override=ApiRoute)
    app.router.routes.insert(0, app.router.routes.pop())
    async with app.router.lifespan_context(app):
        server = LiveServer(app)
        task = asyncio.create_task(server.server.serve())
        while not server.server.started:
            await asyncio.sleep(0.01)

        def calls() -> list[tuple[int, dict[str, object], int]]:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            seen = []
            for path in ("/v1/boom", "/api/boom", "/api/health"):
                conn.request("GET", path)
                response = conn.getresponse()
                body = json.loads(response.read())
                assert conn.sock is not None
                seen.append((response.status, body, conn.sock.fileno()))
            conn.close()
            return seen

        try:
            seen = await asyncio.to_thread(calls)
        finally:
            server.server.should_exit = True
            await task
    assert seen[0][:2] == (500, {"error": {"code": "internal_error", "message": "Internal server error"}})
    assert seen[1][0] == 500 and seen[1][1]["success"] is False
    assert seen[2][0] == 200
    assert len({fileno for _, _, fileno in seen}) == 1  # one connection served all three
