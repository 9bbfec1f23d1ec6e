"""Pages of list answers, apart from the HTTP machinery (a command line reads them without
importing httpx): either shape a server answers, and walks over every page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
PAGE = 100  # items asked per page when walking every page (every list route allows 100)


@dataclass
class Page(Generic[T]):
    """One page of a list. `total` is None where the server answers a bare array (it does not
    count); `has_more` then guesses from a full page."""

    items: list[T]
    total: int | None = None
    limit: int | None = None
    offset: int = 0
    raw: Any = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    @property
    def has_more(self) -> bool:
        if not self.items:
            return False
        if self.total is not None:
            return self.offset + len(self.items) < self.total
        return self.limit is not None and len(self.items) >= self.limit


def page_of(
    data: Any, parse: Callable[[dict[str, Any]], T], *, key: str = "items", limit: int | None, offset: int
) -> Page[T]:
    """A page from either shape of a list answer: a bare JSON array, or an object holding the items
    under `key` (`items` on /v1) with `total`, `limit` and `offset`."""
    if isinstance(data, list):
        return Page([parse(item) for item in data], None, limit, offset, data)
    rows = data.get(key, data.get("items", []))
    return Page(
        [parse(item) for item in rows],
        data.get("total"),
        data.get("limit", limit),
        data.get("offset", offset),
        data,
    )


def walk(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    """Every item of every page, from offset 0."""
    offset = 0
    while True:
        page = fetch(offset)
        yield from page.items
        if not page.has_more:
            return
        offset = page.offset + len(page.items)


async def awalk(fetch: Callable[[int], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    offset = 0
    while True:
        page = await fetch(offset)
        for item in page.items:
            yield item
        if not page.has_more:
            return
        offset = page.offset + len(page.items)
