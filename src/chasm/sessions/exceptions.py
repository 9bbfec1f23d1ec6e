from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self, session_id: object) -> None:
        super().__init__(f"Session '{session_id}' not found")


class InvalidSessionRequest(BadRequest):
    code = "invalid_session_request"


class SessionBusy(Conflict):
    code = "session_has_connections"


class SessionNotRunning(Conflict):
    code = "session_not_running"

    def __init__(self, session_id: object) -> None:
        super().__init__(f"Session '{session_id}' is not running")


class WrongSessionType(BadRequest):
    """A browser session given to a sandbox tool (exec, files, PTY), or the reverse."""

    code = "wrong_session_type"


class UnknownImage(BadRequest):
    code = "unknown_image"
