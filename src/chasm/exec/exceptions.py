from __future__ import annotations

from chasm.kit.errors import BadRequest, NotFound


class CommandNotFound(NotFound):
    code = "command_not_found"

    def __init__(self, command_id: str) -> None:
        super().__init__(f"Command '{command_id}' not found")


class InvalidSignal(BadRequest):
    code = "invalid_signal"


class InvalidExecRequest(BadRequest):
    code = "invalid_exec_request"
