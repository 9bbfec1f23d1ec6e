"""The client's errors, apart from the HTTP machinery: a command line can name them without
importing httpx.

One base, `ChasmAPIError(status_code, code, message)`, and a subclass per kind of refusal a caller
handles differently. The server's three error shapes are read the same way: the platform's
`{"error": {"code", "message"}}` (/v1), spec 003's `{"success": false, "error": {...}}` (/api) and
spec 001's `{"error": "<status phrase>", "message", "code"}` (/api/v1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class ChasmClientError(Exception):
    """Anything the client raises on its own: a refusal of the server is a `ChasmAPIError`."""


class ChasmAPIError(ChasmClientError):
    """The server refused a request: `status_code` (HTTP), `code` (the server's machine-readable
    reason, e.g. `session_not_found`), `message` (for a person) and `details` when sent."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return self.status_code


class ValidationError(ChasmAPIError):
    """400 or 422: the request's parameters or body are invalid."""


class Unauthorized(ChasmAPIError):
    """401: no credentials, or a key that is unknown, revoked or expired."""


class Forbidden(ChasmAPIError):
    """403: the credentials lack the scope or role the request needs."""


class NotFound(ChasmAPIError):
    """404: no such resource in the active account."""


class Conflict(ChasmAPIError):
    """409: the resource's state forbids it now (a session still attached: pass force=True)."""


class PayloadTooLarge(ChasmAPIError):
    """413: an upload or body over the server's limit."""


class RateLimited(ChasmAPIError):
    """429: a rate limit or quota; `retry_after` (seconds) when the server says when to retry."""

    def __init__(
        self, status_code: int, code: str, message: str, details: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(status_code, code, message, details)
        self.retry_after = retry_after


class ServerError(ChasmAPIError):
    """5xx: the server failed."""


class StreamError(ChasmClientError):
    """A command's output stream ended without its exit event and could not be resumed."""


class JobTimeout(ChasmClientError):
    """`jobs.wait` gave up: `job` is the job as last seen (still queued or running)."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"job {job.id} is still {job.status}")
        self.job = job


BY_STATUS: dict[int, type[ChasmAPIError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ChasmAPIError:
    """The typed error of a refused response, whichever surface's shape its body has."""
    code, message, details = "error", body.decode("utf-8", "replace")[:2000], None
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # /v1 and /api: the error object is nested
            fields = error
        elif isinstance(error, str):  # /api/v1 (spec 001): flat, `error` is the status phrase
            fields = data
        else:  # a framework's own answer, such as {"detail": "Not Found"}
            fields = {"message": data.get("detail", message)}
        code = str(fields.get("code") or code)
        message = str(fields.get("message") or message)
        details = fields.get("details")
    if status == 429:
        return RateLimited(status, code, message, details, _seconds(headers.get("retry-after")))
    cls = BY_STATUS.get(status, ServerError if status >= 500 else ChasmAPIError)
    return cls(status, code, message, details)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
