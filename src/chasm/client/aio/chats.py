"""`client.chats` of the async client (see `chasm.client.chats`)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

from chasm.client._base import AsyncTransport, body
from chasm.client.chat_models import Chat, ChatDetail, HarvestReport, Message, SearchResults
from chasm.client.chats import API, create_body, export_params, list_params, search_params, upload_files
from chasm.client.pages import PAGE, Page, awalk, page_of


class AsyncChats:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def list(
        self,
        *,
        workspace_id: str | None = None,
        provider: str | None = None,
        archived: bool | None = None,
        model: str | None = None,
        tags: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Chat]:
        params = list_params(workspace_id, provider, archived, limit, offset, model, tags)
        data = await self._t.request("GET", f"{API}/sessions", params=params)
        return page_of(data, Chat.from_dict, key="sessions", limit=limit, offset=offset)

    def iter(
        self,
        *,
        workspace_id: str | None = None,
        provider: str | None = None,
        archived: bool | None = None,
        model: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> AsyncIterator[Chat]:
        return awalk(
            lambda offset: self.list(
                workspace_id=workspace_id,
                provider=provider,
                archived=archived,
                model=model,
                tags=tags,
                limit=PAGE,
                offset=offset,
            )
        )

    async def get(self, chat_id: str) -> ChatDetail:
        return ChatDetail.from_dict(await self._t.request("GET", f"{API}/sessions/{chat_id}"))

    async def messages(self, chat_id: str, *, limit: int | None = None, offset: int = 0) -> Page[Message]:
        params = {"limit": limit, "offset": offset}
        data = await self._t.request("GET", f"{API}/sessions/{chat_id}/messages", params=params)
        return page_of(data, Message.from_dict, limit=limit or 20, offset=offset)

    def iter_messages(self, chat_id: str) -> AsyncIterator[Message]:
        return awalk(lambda offset: self.messages(chat_id, limit=PAGE, offset=offset))

    async def search(
        self, q: str, *, limit: int | None = None, offset: int = 0, **filters: Any
    ) -> SearchResults:
        data = await self._t.request("GET", f"{API}/search", params=search_params(q, limit, offset, filters))
        return SearchResults.from_dict(data)

    async def export(self, chat_id: str, format: str = "markdown") -> bytes:
        return await self._t.content("GET", f"{API}/sessions/{chat_id}/export", params=export_params(format))

    async def create(
        self,
        title: str | None = None,
        *,
        messages: builtins.list[dict[str, str]] | None = None,
        workspace_id: str | None = None,
        provider: str | None = None,
        tags: builtins.list[str] | None = None,
    ) -> ChatDetail:
        payload = create_body(title, messages, workspace_id, provider, tags)
        return ChatDetail.from_dict(await self._t.request("POST", f"{API}/sessions", json=payload))

    async def add_message(self, chat_id: str, role: str, content: str) -> Message:
        payload = {"role": role, "content": content}
        return Message.from_dict(
            await self._t.request("POST", f"{API}/sessions/{chat_id}/messages", json=payload)
        )

    async def update(
        self,
        chat_id: str,
        *,
        title: str | None = None,
        tags: builtins.list[str] | None = None,
        archived: bool | None = None,
    ) -> Chat:
        payload = body(title=title, tags=tags, archived=archived)
        return Chat.from_dict(await self._t.request("PUT", f"{API}/sessions/{chat_id}", json=payload))

    async def archive(self, chat_id: str) -> Chat:
        return Chat.from_dict(await self._t.request("POST", f"{API}/sessions/{chat_id}/archive"))

    async def delete(self, chat_id: str) -> None:
        await self._t.request("DELETE", f"{API}/sessions/{chat_id}")

    async def fork(
        self, chat_id: str, *, message_id: str | None = None, title: str | None = None
    ) -> ChatDetail:
        payload = body(message_id=message_id, title=title)
        return ChatDetail.from_dict(
            await self._t.request("POST", f"{API}/sessions/{chat_id}/fork", json=payload)
        )

    async def merge(
        self, chat_ids: builtins.list[str], *, title: str | None = None, strategy: str = "interleave"
    ) -> ChatDetail:
        payload = body(session_ids=chat_ids, title=title, strategy=strategy)
        return ChatDetail.from_dict(await self._t.request("POST", f"{API}/sessions/merge", json=payload))

    async def upload_transcripts(
        self, files: builtins.list[tuple[str, bytes | IO[bytes]]], *, source: str | None = None
    ) -> HarvestReport:
        data = await self._t.request(
            "POST",
            f"{API}/harvest/upload",
            files=upload_files(files),
            data={"source": source} if source else None,
        )
        return HarvestReport.from_dict(data)
