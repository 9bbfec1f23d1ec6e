from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound
from chasm.sandbox.storage import snapshots


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"

    def __init__(self, selector: str) -> None:
        super().__init__(f"Workspace '{selector}' not found")


class SnapshotNotFound(snapshots.SnapshotNotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Snapshot '{name}' not found")


class InvalidWorkspaceName(BadRequest):
    code = "invalid_workspace_name"


class WorkspaceNameTaken(Conflict):
    code = "workspace_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"A workspace named '{name}' already exists in this account")


class WorkspaceInUse(Conflict):
    code = "workspace_in_use"


class QuotaExceeded(Conflict):
    code = "storage_quota_exceeded"


class SnapshotExists(Conflict):
    code = "snapshot_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Snapshot '{name}' already exists")
