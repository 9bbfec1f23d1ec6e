"""Serving the dashboard's built files at `/` with a history fallback for its client routes.

The fallback never shadows the API: a path whose first segment is one the app already routes
(`/v1`, `/auth`, `/api`, `/ws`, `/docs`, ...) is left to the router, so unknown API paths keep
their own 404 or 405. Without a built front-end `/` answers a page saying how to build it.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import Scope

DIST = Path(__file__).resolve().parent / "dist"
# First path segments that are always the API's, even before their routes are read.
RESERVED = frozenset(
    {"v1", "v2", "auth", "s", "api", "api-docs", "ws", "docs", "openapi.json", "redoc", "mcp"}
)
HASHED_ASSETS = "assets"  # Vite's content-hashed output: cached for a year

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Chasm</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Chasm</h1><p>The API is running, but the web dashboard has not been built.</p>
<p>Build it from the source checkout with <code>./scripts/bootstrap.sh</code> (it needs Node.js and
npm), then reload this page. The API itself is documented at <a href="/docs">/docs</a>.</p>
<p style="color: #666">Looked for the built files in <code>{dist}</code>.</p></body></html>"""


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def api_segments(routes: list[BaseRoute]) -> frozenset[str]:
    """The first path segments of every route and mount the app has (besides the SPA's own)."""
    found = set(RESERVED)
    for route in routes:
        if isinstance(route, Route | WebSocketRoute | Mount) and not isinstance(route, SpaRoute):
            segment = _first_segment(route.path)
            if segment and "{" not in segment:
                found.add(segment)
    return frozenset(found)


class SpaRoute(Route):
    """GET/HEAD of any path the API does not own."""

    def __init__(self, app: FastAPI, dist: Path) -> None:
        self.fastapi = app
        self.dist = dist
        self._reserved: frozenset[str] | None = None

        async def endpoint(request: Request) -> Response:
            return await self.serve(request)

        # A catch-all: the 405 handlers' list of a path's allowed methods leaves it out
        # (chasm.kit.handlers.allowed_methods), as it does the chat surfaces' own.
        endpoint.chasm_fallback = True  # type: ignore[attr-defined]
        super().__init__("/{path:path}", endpoint, methods=["GET", "HEAD"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        if self._reserved is None:
            self._reserved = api_segments(self.fastapi.router.routes)
        if _first_segment(scope.get("path", "")) in self._reserved:
            return Match.NONE, {}
        return super().matches(scope)

    async def serve(self, request: Request) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            page = NOT_BUILT.replace("{dist}", html.escape(str(self.dist)))
            return HTMLResponse(page, status_code=200 if request.url.path == "/" else 404)
        file = self._static_file(request.url.path)
        if file is not None:
            cache = "public, max-age=31536000, immutable" if file.parent.name == HASHED_ASSETS else "no-cache"
            return FileResponse(file, headers={"Cache-Control": cache})
        if _first_segment(request.url.path) == HASHED_ASSETS:
            return Response("Not found", status_code=404, media_type="text/plain")
        # A client route (/chats/..., /sandboxes/...): the app's page, which routes itself.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    def _static_file(self, path: str) -> Path | None:
        parts = PurePosixPath(path).parts[1:]
        if not parts or any(part in ("..", ".") or part.startswith(".") for part in parts):
            return None
        candidate = self.dist.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_file() or not resolved.is_relative_to(self.dist.resolve()):
            return None
        return resolved


def install(app: FastAPI, dist: Path | None = None) -> None:
    """Add the SPA route last, after every API router (call at the end of create_app)."""
    app.router.routes.append(SpaRoute(app, dist or DIST))


def built(dist: Path | None = None) -> bool:
    return ((dist or DIST) / "index.html").is_file()
