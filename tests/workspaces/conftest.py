from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings


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
