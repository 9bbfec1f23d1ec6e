"""Pure ASGI middleware refusing request bodies over a size limit with 413: by their declared length
before they are read, or (chunked) as soon as the bytes read pass the limit."""

from __future__ import annotations

import json
import re
from typing import Any

from chasm.kit.errors import render
from chasm.kit.surface import surface_of

Scope = dict[str, Any]


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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        received = 0
        # The answer the client gets instead of the app's: (status, code, message), rendered when
        # sent, in the shape of the surface whose route took the request.
        refusal: tuple[int, str, str] | None = None
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            refusal = self._too_large()
        answered = False
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        json_parts: list[bytes] | None = [] if content_type.endswith(b"json") else None

        async def limited_receive() -> Any:
            nonlocal received, refusal
            if refusal is not None:
                raise _Refused()
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    refusal = self._too_large()
                    raise _Refused()
                if json_parts is not None:
                    json_parts.append(chunk)
                    if not message.get("more_body") and _has_lone_surrogate(b"".join(json_parts)):
                        text = "Request body is not valid text: a \\u escape names a lone UTF-16 surrogate"
                        refusal = (400, "invalid_json", text)
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
                await _send_refusal(scope, send, refusal)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Refused:
            if refusal is not None and not answered:
                await _send_refusal(scope, send, refusal)

    def _too_large(self) -> tuple[int, str, str]:
        return (413, "payload_too_large", f"Request body exceeds {self.max_bytes} bytes")


async def _send_refusal(scope: Scope, send: Any, refusal: tuple[int, str, str]) -> None:
    status, code, message = refusal
    await _send_json(send, status, render(surface_of(scope), status, code, message))


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
