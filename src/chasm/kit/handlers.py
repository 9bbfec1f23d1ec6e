"""Exception handlers: every error leaves the server in the surface's documented shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chasm.kit.errors import ChasmError, render
from chasm.kit.surface import Surface, compiled_path, route_contexts, surface_of

log = logging.getLogger("chasm")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _json(request: Request, status: int, code: str, message: str, details: Any = None, headers: Any = None):  # type: ignore[no-untyped-def]
    body = render(surface_of(request.scope), status, code, message, details)
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        details.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return details


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path; a chat surface's catch-all route
    (`chasm_fallback`), which takes every path, does not count."""
    path = request.scope.get("path", "")
    answered: set[str] = set()
    for ctx in route_contexts(request.app):
        route = ctx.original_route
        if getattr(getattr(route, "endpoint", None), "chasm_fallback", False) or not ctx.methods:
            continue
        if compiled_path(str(ctx.path)).fullmatch(path):
            answered |= set(ctx.methods)

    def answers(method: str) -> bool:
        return method in answered

    allowed = [method for method in ("DELETE", "GET", "PATCH", "POST", "PUT") if answers(method)]
    return sorted([*allowed, "HEAD"] if "GET" in allowed else allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(ChasmError)
    async def _chasm(request: Request, exc: ChasmError):  # type: ignore[no-untyped-def]
        return _json(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):  # type: ignore[no-untyped-def]
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return _json(request, 400, "invalid_json", "Request body is not valid JSON", details)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p not in ("body",)) or "request"
        # The chat surfaces know one status for an invalid request: 400 (001's BadRequest, 003's
        # error table); the platform surface answers 422.
        status = 422 if surface_of(request.scope) is Surface.PLATFORM else 400
        return _json(request, status, "validation_error", f"{where}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path; list them all.
            allowed = allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
        return _json(request, exc.status_code, code, message, headers=headers)


class UnexpectedErrorMiddleware:
    """A bug answers 500 in the surface's shape and the connection stays usable. (An exception
    handler for `Exception` would answer too, but Starlette re-raises after it, and uvicorn then
    drops the client's keep-alive connection.) Installed outermost of the app's middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # the answer is half sent: only closing the connection can tell the client
            body = render(surface_of(scope), 500, "internal_error", "Internal server error", None)
            await JSONResponse(body, status_code=500)(scope, receive, send)
