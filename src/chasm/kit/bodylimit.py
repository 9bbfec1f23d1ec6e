"""Pure ASGI middleware bounding what a request may carry, answered in the surface's error shape:
a URL over 16 KiB (414), headers over 32 KiB in all (431), a body over the size limit (413: by its
declared length before it is read, or, chunked, as soon as the bytes read pass the limit)."""

from __future__ import annotations

import json
import re
from typing import Any

from chasm.kit.errors import render
from chasm.kit.surface import routed_surface

Scope = dict[str, Any]


# Limits on the request line and headers (what a browser or SDK ever sends is far below them).
MAX_TARGET_BYTES = 16 * 1024
MAX_HEADER_BYTES = 32 * 1024
_JSON_HEADERS = [(b"content-type", b"application/json")]

# A JSON escape of a UTF-16 surrogate (U+D800..U+DFFF); only bodies holding one are checked further.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(body: bytes) -> bool:
    """Whether the JSON `body` decodes to a string no UTF-8 database or response can hold (a
    surrogate without its pair). Invalid JSON is left to the app's own error."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


class BodyLimitMiddleware:
    """Also refuses (400 `invalid_json`) a JSON body holding a lone surrogate, which would pass
    validation as a string and fail later, deep in a database driver."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > MAX_TARGET_BYTES:
            message = f"The request URL exceeds {MAX_TARGET_BYTES} bytes"
            await self._refuse(scope, send, 414, "uri_too_long", message)
            return
        if sum(len(name) + len(value) for name, value in raw_headers) > MAX_HEADER_BYTES:
            message = f"The request headers exceed {MAX_HEADER_BYTES} bytes"
            await self._refuse(scope, send, 431, "headers_too_large", message)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(raw_headers)
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # HTTP/1.1: no length, no chunks: no body
            return
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send)
            return
        received = 0
        refusal: tuple[int, Any] | None = None  # the answer the client gets instead of the app's
        answered = False
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        json_parts: list[bytes] | None = [] if content_type.endswith(b"json") else None

        async def limited_receive() -> Any:
            nonlocal received, refusal
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    refusal = (413, self._too_large(scope))
                    raise _Refused()
                if json_parts is not None:
                    json_parts.append(chunk)
                    if not message.get("more_body") and _has_lone_surrogate(b"".join(json_parts)):
                        text = "Request body is not valid text: a \\u escape names a lone UTF-16 surrogate"
                        refusal = (400, render(routed_surface(scope), 400, "invalid_json", text))
                        raise _Refused()
            return message

        async def guarded_send(message: Any) -> None:
            # The app may turn a refused body into its own error (FastAPI answers 400 "error
            # parsing the body"): the client gets the refusal instead.
            nonlocal answered
            if refusal is None:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await _send_json(send, *refusal)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Refused:
            if refusal is not None and not answered:
                await _send_json(send, *refusal)

    async def _refuse(self, scope: Scope, send: Any, status: int, code: str, message: str) -> None:
        payload = render(routed_surface(scope), status, code, message)
        if scope["type"] == "websocket":
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1009})
                return
            await send({"type": "websocket.http.response.start", "status": status, "headers": _JSON_HEADERS})
            await send({"type": "websocket.http.response.body", "body": json.dumps(payload).encode()})
            return
        await _send_json(send, status, payload)

    def _too_large(self, scope: Scope) -> Any:
        message = f"Request body exceeds {self.max_bytes} bytes"
        return render(routed_surface(scope), 413, "payload_too_large", message)

    async def _reject(self, scope: Scope, send: Any) -> None:
        await _send_json(send, 413, self._too_large(scope))


async def _send_json(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _Refused(Exception):
    pass
