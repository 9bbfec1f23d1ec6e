"""What the sync and async clients share: settings from the environment, the HTTP transports
(headers, error translation), pages of lists and the decoder of Server-Sent Events."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from chasm.client.errors import error_from_response
from chasm.client.models import OutputChunk

DEFAULT_URL = "http://127.0.0.1:8787"
URL_ENV = "CHASM_URL"  # the names the CLI reads too (--url, --key)
KEY_ENV = "CHASM_API_KEY"
ACCOUNT_ENV = "CHASM_ACCOUNT"
DEFAULT_TIMEOUT = 300.0


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
