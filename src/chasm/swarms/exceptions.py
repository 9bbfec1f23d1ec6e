"""Errors of swarms and their runs."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound


class SwarmNotFound(NotFound):
    code = "swarm_not_found"

    def __init__(self) -> None:
        super().__init__("Swarm not found")


class SwarmNameTaken(Conflict):
    code = "swarm_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"A swarm named '{name}' already exists")


class UnknownMember(BadRequest):
    """A coordinator or worker that names no agent of the account."""

    code = "unknown_agent"


class SwarmRunConflict(Conflict):
    """start, pause, resume or stop in a state that does not allow it."""

    code = "invalid_swarm_state"
