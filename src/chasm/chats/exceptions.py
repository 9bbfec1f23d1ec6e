from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound


class ChatNotFound(NotFound):
    """A chat (a "session" in 001's URLs) that the caller cannot see; the code keeps 001's word."""

    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__("Session not found")


class AmbiguousChatId(BadRequest):
    """A shortened chat id that more than one chat starts with."""

    code = "ambiguous_session_id"

    def __init__(self, prefix: str) -> None:
        super().__init__(
            f"Chat id {prefix!r} is ambiguous: more than one chat starts with it; give more characters"
        )


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
