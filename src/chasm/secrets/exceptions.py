"""Errors of the secrets scan."""

from __future__ import annotations

from chasm.kit.errors import BadRequest


class UnknownRule(BadRequest):
    """A redaction named a rule that does not exist."""
