"""Errors of the browser tools; all render as the platform's `{"error": {"code", "message"}}`."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError, NotFound, PayloadTooLarge
from chasm.sandbox.cdp import CdpCallFailed, CdpError, MessageTooLarge, PageClosed

__all__ = [
    "CdpCallFailed",
    "CdpError",
    "ElementNotFound",
    "EvaluateFailed",
    "InvalidUrl",
    "MessageTooLarge",
    "NavigationFailed",
    "NavigationTimeout",
    "PageClosed",
    "PageNotFound",
    "ResultTooLarge",
    "ScreenshotTooLarge",
    "WaitTimeout",
    "InvalidSelector",
    "InvalidRef",
    "InvalidTarget",
    "RefNotFound",
]


class InvalidUrl(BadRequest):
    code = "invalid_url"


class NavigationFailed(ChasmError):
    """Chromium could not load the URL (unreachable, blocked by the session's network mode...)."""

    status_code = 400
    code = "navigation_failed"


class NavigationTimeout(ChasmError):
    status_code = 504
    code = "navigation_timeout"


class PageNotFound(NotFound):
    code = "page_not_found"


class ElementNotFound(NotFound):
    code = "element_not_found"


class EvaluateFailed(BadRequest):
    """The expression threw (the message is the page's exception)."""

    code = "evaluate_failed"


class ResultTooLarge(MessageTooLarge):
    """A page's answer over the size a browser call returns."""


class ScreenshotTooLarge(PayloadTooLarge):
    code = "screenshot_too_large"


class WaitTimeout(ChasmError):
    status_code = 504
    code = "wait_timeout"


class InvalidSelector(BadRequest):
    code = "invalid_selector"


class InvalidRef(BadRequest):
    """Not a ref a snapshot hands out (`e` and a number)."""

    code = "invalid_ref"


class RefNotFound(NotFound):
    """The element a ref named has left the page (it changed, or another page is open)."""

    code = "ref_not_found"


class InvalidTarget(BadRequest):
    """Click and type take a ref or a selector: one of them."""

    code = "invalid_target"
