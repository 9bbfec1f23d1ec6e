"""Request-scoped dependencies shared by every domain: the database session and settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.config import Settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the endpoint returns, rolled back on error."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the commit happens before the response is sent, so a client never sees a
# success whose data is not yet committed (or whose commit then failed).
DB = Depends(get_db, scope="function")
DbSession = Annotated[AsyncSession, DB]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
