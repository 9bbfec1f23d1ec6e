from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound


class ChatNotFound(NotFound):
    """A chat (a "session" in 001's URLs) that the caller cannot see; the code keeps 001's word."""

    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__("Session not found")


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"

    def __init__(self) -> None:
        super().__init__("Workspace not found")


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("Message not found in this session")


class WorkspaceExists(Conflict):
    code = "workspace_exists"


class InvalidMerge(BadRequest):
    code = "invalid_merge"
