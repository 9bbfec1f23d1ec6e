from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings
from chasm.workspaces.storage import DiskStorage


@pytest.fixture(params=["loop", "directory"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DiskStorage]:
    storage = DiskStorage(Settings(data_dir=tmp_path / "data", workspace_storage=request.param))
    yield storage
    for disk in (tmp_path / "data" / "workspaces").glob("*"):
        await storage.delete(disk.name)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app, and at the end every workspace disk deleted: disks are loop mounts that would
    outlive the test's temporary directory."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        storage = application.state.sandbox.storage
        root = settings.data_dir / "workspaces"
        for disk in sorted(p.name for p in root.iterdir()) if root.exists() else []:
            await storage.delete(disk)
