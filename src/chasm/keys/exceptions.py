"""Errors of API keys."""

from __future__ import annotations

from chasm.kit.errors import Forbidden, NotFound


class KeyNotFound(NotFound):
    code = "api_key_not_found"


class ScopeEscalation(Forbidden):
    code = "insufficient_scope"
