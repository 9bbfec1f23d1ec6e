"""The one error base of Chasm and its renderings (platform surface, chat surfaces /api/v1 and /api)."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # chasm.kit.surface loads FastAPI: a command line raising these errors needs none
    from chasm.kit.surface import Surface


class ChasmError(Exception):
    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.headers = headers
        self.details = details


class BadRequest(ChasmError):
    status_code = 400
    code = "bad_request"


class Unauthorized(ChasmError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "Authentication required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ChasmError):
    status_code = 403
    code = "forbidden"


class InsufficientScope(Forbidden):
    """The key is valid but lacks the scope the operation needs."""

    code = "insufficient_scope"


class InvalidUpload(BadRequest):
    """A multipart upload that cannot be read (the files API and the harvest upload)."""

    code = "invalid_upload"


class NotFound(ChasmError):
    status_code = 404
    code = "not_found"


class Conflict(ChasmError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ChasmError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(ChasmError):
    status_code = 422
    code = "validation_error"


class RateLimited(ChasmError):
    status_code = 429
    code = "rate_limited"


def render(surface: Surface, status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Platform surface: {"error": {...}}; /api (003): {"success": false, "error": {...}}; /api/v1
    (001): {"error": <status phrase>, "message", "code"}. Chat codes are upper case (003's
    `NOT_FOUND`)."""
    from chasm.kit.surface import Surface

    if surface is Surface.V1:
        v1: dict[str, Any] = {"error": _phrase(status), "message": message, "code": code.upper()}
        if details is not None:
            v1["details"] = details
        return v1
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    if surface is Surface.API:
        return {"success": False, "error": {**error, "code": code.upper()}}
    return {"error": error}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
