"""Errors of the jobs API."""

from __future__ import annotations

from typing import Any

from chasm.kit.errors import BadRequest, Conflict, InsufficientScope, NotFound, ValidationFailed


class UnknownJobKind(BadRequest):
    code = "unknown_job_kind"

    def __init__(self, kind: str) -> None:
        super().__init__(f"Unknown job kind '{kind}'; GET /v1/jobs/kinds lists the available kinds")


class JobInputInvalid(ValidationFailed):
    def __init__(self, kind: str, details: list[dict[str, Any]]) -> None:
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(["input", *first["loc"]])
        super().__init__(f"{where}: {first['msg']} (input of '{kind}')", details=details)


class JobScopeMissing(InsufficientScope):
    def __init__(self, kind: str, scope: str, action: str = "enqueue") -> None:
        super().__init__(f"To {action} '{kind}' jobs this key needs the '{scope}' scope")


class JobNotFound(NotFound):
    code = "job_not_found"

    def __init__(self) -> None:
        super().__init__("No such job in this account")


class JobStateConflict(Conflict):
    code = "job_state_conflict"
