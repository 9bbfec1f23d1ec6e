"""The interface of workspace disk storage, used by the workspaces and sessions services.

A workspace disk is a directory tree on the host that a sandbox sees at /workspace, with a hard
size limit (writes past it fail with ENOSPC inside the sandbox), cheap snapshots that restore
exactly (contents, modes, symlinks), and clones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass
class SnapshotRef:
    ref: str  # opaque reference kept in WorkspaceSnapshot.manifest
    size_bytes: int  # logical bytes in the tree
    stored_bytes: int  # bytes this snapshot added to the store (deduplicated)
    file_count: int


class WorkspaceStorage(Protocol):
    async def create(self, disk_id: str, quota_bytes: int) -> None:
        """Create an empty disk (idempotent)."""
        ...

    async def mount(self, disk_id: str) -> Path:
        """The host directory holding the disk's files, ready to bind at /workspace."""
        ...

    async def usage(self, disk_id: str) -> int:
        """Real bytes used on disk."""
        ...

    async def delete(self, disk_id: str) -> None:
        """Remove the disk and its files (idempotent)."""
        ...

    async def clone(self, source_id: str, disk_id: str, quota_bytes: int) -> None: ...

    async def snapshot(self, disk_id: str) -> SnapshotRef: ...

    async def restore(self, disk_id: str, ref: str) -> None:
        """Make the disk's tree exactly what it was when `ref` was taken."""
        ...

    async def delete_snapshot(self, ref: str) -> None: ...

    async def unmount_all(self) -> None:
        """Release every mounted disk (at shutdown); `mount` brings one back on next use."""
        ...

    async def collect_garbage(self, known_refs: set[str]) -> int:
        """Remove what interrupted snapshots left (manifests not in `known_refs`, unreferenced
        blobs, temporary files); bytes freed."""
        ...
