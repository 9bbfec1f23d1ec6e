"""How the client reads refusals of each surface and pages of either list shape (pure functions:
the live tests meet each of them from the real server too)."""

from __future__ import annotations

import json

import pytest

from chasm.client.errors import (
    ChasmAPIError,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    error_from_response,
)
from chasm.client.pages import Page, page_of, walk


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": {"code": "session_not_found", "message": "no such session"}}, "session_not_found"),
        ({"success": False, "error": {"code": "NOT_FOUND", "message": "no such session"}}, "NOT_FOUND"),
        (
            {"error": "Not Found", "message": "no such session", "code": "SESSION_NOT_FOUND"},
            "SESSION_NOT_FOUND",
        ),
    ],
    ids=["platform /v1", "spec 003 /api", "spec 001 /api/v1"],
)
def test_every_surface_error_shape(body: dict[str, object], code: str) -> None:
    error = error_from_response(404, {}, json.dumps(body).encode())
    assert isinstance(error, NotFound) and isinstance(error, ChasmAPIError)
    assert (error.status_code, error.code, error.message) == (404, code, "no such session")


def test_status_picks_the_class() -> None:
    body = json.dumps({"error": {"code": "rate_limited", "message": "slow down"}}).encode()
    limited = error_from_response(429, {"retry-after": "7"}, body)
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    assert isinstance(error_from_response(409, {}, b"{}"), Conflict)
    invalid = error_from_response(
        400,
        {},
        json.dumps({"error": {"code": "validation_error", "message": "bad", "details": [1]}}).encode(),
    )
    assert isinstance(invalid, ValidationError) and invalid.details == [1]
    crashed = error_from_response(502, {}, b"<html>bad gateway</html>")
    assert isinstance(crashed, ServerError) and crashed.message == "<html>bad gateway</html>"


def test_both_list_shapes_and_every_page() -> None:
    rows = [{"n": i} for i in range(7)]

    def envelope(offset: int) -> Page[int]:
        data = {"items": rows[offset : offset + 3], "total": len(rows), "limit": 3, "offset": offset}
        return page_of(data, lambda r: int(r["n"]), limit=3, offset=offset)

    def bare(offset: int) -> Page[int]:
        return page_of(rows[offset : offset + 3], lambda r: int(r["n"]), limit=3, offset=offset)

    assert list(walk(envelope)) == list(walk(bare)) == list(range(7))
    assert envelope(0).total == 7 and bare(0).total is None
    assert envelope(6).has_more is False and bare(3).has_more is True
