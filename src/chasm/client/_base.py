"""What the sync and async clients share: settings from the environment, the HTTP transports
(headers, error translation), pages of lists and the decoder of Server-Sent Events."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import httpx

from chasm.client.errors import error_from_response
from chasm.client.models import OutputChunk

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8787"
URL_ENV = "CHASM_URL"  # the names the CLI reads too (--url, --key)
KEY_ENV = "CHASM_API_KEY"
ACCOUNT_ENV = "CHASM_ACCOUNT"
DEFAULT_TIMEOUT = 300.0
PAGE = 100  # items asked per page when walking every page (every list route allows 100)


def settings(base_url: str | None, api_key: str | None, account: str | None) -> tuple[str, dict[str, str]]:
    """The server's URL and the request headers: arguments first, then CHASM_URL, CHASM_API_KEY and
    CHASM_ACCOUNT. Without a key the requests go anonymous (a loopback-mode chat surface accepts
    them; everything else answers 401)."""
    url = (base_url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    key = api_key or os.environ.get(KEY_ENV)
    account = account or os.environ.get(ACCOUNT_ENV)
    headers = {"User-Agent": "chasm-python-client"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if account:
        headers["X-Chaser-Account"] = account
    return url, headers


def segment(value: str) -> str:
    """A path segment: workspace names may hold characters with a meaning in URLs."""
    return quote(str(value), safe="")


def query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones, booleans as the server reads them."""
    if params is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body without the unset fields (the server applies its defaults)."""
    return {k: v for k, v in fields.items() if v is not None}


def check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_from_response(response.status_code, response.headers, response.content)


def decode(response: httpx.Response) -> Any:
    check(response)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def ws_url(base_url: str, path: str, params: dict[str, Any]) -> str:
    scheme, rest = base_url.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}?{urlencode(query(params) or {})}"


class SyncTransport:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        account: str | None,
        timeout: float,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.base_url, self.headers = settings(base_url, api_key, account)
        self.http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return decode(self.http.request(method, path, params=query(params), **kwargs))

    def content(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> bytes:
        response = self.http.request(method, path, params=query(params))
        check(response)
        return response.content

    def close(self) -> None:
        self.http.close()


class AsyncTransport:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        account: str | None,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.base_url, self.headers = settings(base_url, api_key, account)
        self.http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        return decode(await self.http.request(method, path, params=query(params), **kwargs))

    async def content(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> bytes:
        response = await self.http.request(method, path, params=query(params))
        check(response)
        return response.content

    async def close(self) -> None:
        await self.http.aclose()


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


class EventDecoder:
    """Server-Sent Events of a command's stream, one line at a time, to `OutputChunk`s."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def feed(self, line: str) -> OutputChunk | None:
        if line == "":
            fields, self.fields = self.fields, {}
            return chunk_of(fields) if "event" in fields else None
        if not line.startswith(":"):
            name, _, value = line.partition(":")
            self.fields[name] = value[1:] if value.startswith(" ") else value
        return None


def chunk_of(fields: dict[str, str]) -> OutputChunk:
    data = json.loads(fields.get("data") or "{}")
    end = int(fields.get("id") or 0)
    if fields["event"] == "exit":
        return OutputChunk(
            "exit",
            "",
            end,
            end,
            exit_code=data.get("exit_code"),
            status=data.get("status"),
            output_truncated=bool(data.get("output_truncated")),
        )
    return OutputChunk(fields["event"], str(data.get("data", "")), int(data.get("offset", end)), end)
