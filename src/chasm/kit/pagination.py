"""Paging of lists, and the bounds of every paging number a client sends (an offset past 2^63
was a 500 from the database driver).

Every `/v1` list answers one `Page[T]`: `{items, total, limit, offset}`, where `total` counts every
row matching the same filters (counted by the database) and `items` is the window
`offset .. offset + limit` of them in a stable order. `chasm.kit.deps.Paging` is the dependency
that reads and validates `limit` and `offset` the same way on every list route (kept there so
services and the CLI's local commands use pages without importing FastAPI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

MAX_OFFSET = 2**31 - 1  # list routes
MAX_SEARCH_OFFSET = 10_000  # ranked search pages (ranking works through offset + limit results)
MAX_BYTE_OFFSET = 2**62  # positions in a command's output

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, `total` (every match of the filters), and the window asked for."""

    items: list[T]
    total: int = Field(description="Number of items matching the filters, over all pages.")
    limit: int = Field(description="Most items this page could hold (the `limit` asked for).")
    offset: int = Field(description="Position of the first item of this page among all matches.")


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def page(self, items: Sequence[T], total: int) -> Page[T]:
        return Page[T](items=list(items), total=total, limit=self.limit, offset=self.offset)

    def window(self, items: Sequence[T]) -> Page[T]:
        """A page of a list held in memory (catalogues, a process's own registries)."""
        return self.page(items[self.offset : self.offset + self.limit], len(items))


async def fetch(
    db: AsyncSession, query: Select[*tuple[Any, ...]], paging: PageParams
) -> tuple[Sequence[Any], int]:
    """The window of `query` (which must order by a unique key last, so pages never overlap) and
    the number of all its rows, counted by the database with the same filters."""
    total = await db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await db.execute(query.limit(paging.limit).offset(paging.offset))).scalars().all()
    return rows, int(total or 0)


async def fetch_rows(
    db: AsyncSession, query: Select[*tuple[Any, ...]], paging: PageParams
) -> tuple[Sequence[Any], int]:
    """`fetch` for a query of several columns: the window's rows as tuples."""
    total = await db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await db.execute(query.limit(paging.limit).offset(paging.offset))).all()
    return rows, int(total or 0)


async def collect(get: Callable[[PageParams], Awaitable[Page[T]]]) -> list[T]:
    """Every item of a list, page after page (for callers inside the server, such as the CLI's
    local commands, that want them all)."""
    items: list[T] = []
    paging = PageParams(limit=MAX_LIMIT)
    while True:
        page = await get(paging)
        items += page.items
        if not page.items or len(items) >= page.total:
            return items
        paging = PageParams(limit=MAX_LIMIT, offset=paging.offset + MAX_LIMIT)
