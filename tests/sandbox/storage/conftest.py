from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chasm.config import Settings
from chasm.sandbox.storage.disk import DiskStorage


@pytest.fixture(params=["loop", "directory"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DiskStorage]:
    storage = DiskStorage(Settings(data_dir=tmp_path / "data", workspace_storage=request.param))
    yield storage
    for disk in (tmp_path / "data" / "workspaces").glob("*"):
        await storage.delete(disk.name)
