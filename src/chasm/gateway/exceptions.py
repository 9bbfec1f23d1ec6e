from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError


class BadGateway(ChasmError):
    status_code = 502
    code = "bad_gateway"


class InvalidPort(BadRequest):
    code = "invalid_port"


class NotABrowserSession(BadRequest):
    """The DevTools endpoints of a sandbox session (it runs no browser)."""

    code = "not_a_browser_session"
