"""Errors of the search domain."""

from __future__ import annotations

from chasm.kit.errors import BadRequest


class InvalidQuery(BadRequest):
    """The search text has nothing to search for, or the index rejected it."""
