"""Errors of API keys."""

from __future__ import annotations

from chasm.kit.errors import InsufficientScope, NotFound


class KeyNotFound(NotFound):
    code = "api_key_not_found"


class ScopeEscalation(InsufficientScope):
    """Creating a key with a scope the creating key does not hold."""
