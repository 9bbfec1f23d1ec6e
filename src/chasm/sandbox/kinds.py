"""The kinds of machine a session runs on: a sandbox, or a browser (Chromium in a sandbox).

Sessions and workspaces both refuse a kind this server cannot start, with the same error."""

from __future__ import annotations

from chasm.kit.errors import BadRequest

SESSION_TYPES = ("sandbox", "browser")


class UnsupportedSessionType(BadRequest):
    code = "unsupported_session_type"


def require_available(session_type: str) -> None:
    if session_type not in SESSION_TYPES:
        raise UnsupportedSessionType(f"session_type must be one of {', '.join(SESSION_TYPES)}")
