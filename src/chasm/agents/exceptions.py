"""Errors of agents and their runs (rendered in the chat surface's error shape)."""

from __future__ import annotations

from chasm.kit.errors import ChasmError, Conflict, NotFound
from chasm.tools.base import UnknownTool


class AgentNotFound(NotFound):
    code = "agent_not_found"

    def __init__(self, what: str = "Agent not found") -> None:
        super().__init__(what)


class AgentNameTaken(Conflict):
    code = "agent_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"An agent named '{name}' already exists")


class AgentInUse(Conflict):
    code = "agent_in_use"


class UnknownAgentTool(UnknownTool):
    """An agent given a tool name that no tool has (a bad request, where calling one is a 404)."""

    status_code = 400


class RunNotFound(NotFound):
    code = "run_not_found"

    def __init__(self) -> None:
        super().__init__("Agent run not found")


class RunFailed(ChasmError):
    """A run that ended without an answer: over its step or time limit, or its model failed. The
    run is recorded as failed with this reason; `details` names the run and its chat."""

    status_code = 502
    code = "run_failed"


class StepLimitReached(RunFailed):
    status_code = 422
    code = "step_limit_exceeded"


class TimeLimitReached(RunFailed):
    status_code = 504
    code = "time_limit_exceeded"
