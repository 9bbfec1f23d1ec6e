"""Errors of agents and their runs (rendered in the chat surface's error shape)."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError, Conflict, NotFound


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


class UnknownAgentTool(BadRequest):
    code = "unknown_tool"


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
