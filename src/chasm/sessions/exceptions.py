from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError, Conflict, NotFound
from chasm.sandbox.drivers import base


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self, session_id: object) -> None:
        super().__init__(f"Session '{session_id}' not found")


class InvalidSessionRequest(BadRequest):
    code = "invalid_session_request"


class SessionBusy(Conflict):
    code = "session_has_connections"


class SessionNotRunning(base.SandboxGone):
    def __init__(self, session_id: object) -> None:
        super().__init__(f"Session '{session_id}' is not running")


class SessionOnOtherNode(ChasmError):
    """421 Misdirected Request: the session's machine runs on another server of this installation."""

    status_code = 421
    code = "session_on_other_node"

    def __init__(self, session_id: object, node_id: str) -> None:
        message = f"Session '{session_id}' runs on node '{node_id}'; send this request to that node's server"
        super().__init__(message, details={"node_id": node_id})


class WrongSessionType(BadRequest):
    """A browser session given to a sandbox tool (exec, files, PTY), or the reverse."""

    code = "wrong_session_type"


class UnknownImage(base.UnknownImage):
    status_code = 400
