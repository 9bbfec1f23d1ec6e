"""Request-scoped dependencies shared by every domain: the database session and settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.config import Settings
from chasm.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, PageParams


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the endpoint returns, rolled back on error."""
    async with request.app.state.sessionmaker() as db:
        try:
            yield db
            await db.commit()
        except BaseException:
            await db.rollback()
            raise


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the commit happens before the response is sent, so a client never sees a
# success whose data is not yet committed (or whose commit then failed).
DB = Depends(get_db, scope="function")
DbSession = Annotated[AsyncSession, DB]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]
