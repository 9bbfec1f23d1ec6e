"""Errors of the recording API."""

from __future__ import annotations

from chasm.chats.exceptions import ChatNotFound
from chasm.kit.errors import Conflict, NotFound


class SessionNotFound(ChatNotFound):
    """A recording session (a chat) the caller cannot see."""

    def __init__(self, message: str) -> None:
        NotFound.__init__(self, message)


class SessionEnded(Conflict):
    code = "session_ended"
