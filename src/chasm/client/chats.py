"""`client.chats`: the chat library over spec 001's surface (/api/v1): list, search, read, edit,
export, fork, merge, and upload of transcript files."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from chasm.client._base import SyncTransport, body
from chasm.client.chat_models import Chat, ChatDetail, HarvestReport, Message, SearchResults
from chasm.client.pages import PAGE, Page, page_of, walk

API = "/api/v1"


def list_params(
    workspace_id: str | None,
    provider: str | None,
    archived: bool | None,
    limit: int | None,
    offset: int,
    model: str | None = None,
    tags: Sequence[str] | None = None,
) -> dict[str, Any]:
    """`model`: the chat's model or one of its messages'; `tags`: chats holding every one of them."""
    if isinstance(tags, str):
        tags = [tags]
    return {
        "workspace_id": workspace_id,
        "provider": provider,
        "archived": archived,
        "model": model,
        "tag": list(tags) if tags else None,
        "limit": limit,
        "offset": offset,
    }


def search_params(q: str, limit: int | None, offset: int, filters: dict[str, Any]) -> dict[str, Any]:
    """`filters`: provider, workspace_id, role, since, until (datetimes or ISO text), tools
    (include | exclude | only)."""
    unknown = set(filters) - {"provider", "workspace_id", "role", "since", "until", "tools"}
    if unknown:
        raise TypeError(f"unknown search filter(s): {', '.join(sorted(unknown))}")
    params = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()}
    return {"q": q, "limit": limit, "offset": offset or None, **params}


def export_params(format: str) -> dict[str, Any]:
    return {"format": format}  # the server names the formats it has in its refusal


def create_body(
    title: str | None, messages: list[dict[str, str]] | None, workspace_id: str | None, provider: str | None,
    tags: list[str] | None,
) -> dict[str, Any]:  # fmt: skip
    return body(title=title, messages=messages, workspace_id=workspace_id, provider=provider, tags=tags)


def upload_files(files: list[tuple[str, bytes | IO[bytes]]]) -> list[tuple[str, tuple[str, Any]]]:
    return [("files", (name, content)) for name, content in files]


class Chats:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def list(
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
        """A page of chats, most recently updated first, with the total matching."""
        params = list_params(workspace_id, provider, archived, limit, offset, model, tags)
        data = self._t.request("GET", f"{API}/sessions", params=params)
        return page_of(data, Chat.from_dict, key="sessions", limit=limit, offset=offset)

    def iter(
        self,
        *,
        workspace_id: str | None = None,
        provider: str | None = None,
        archived: bool | None = None,
        model: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Iterator[Chat]:
        """Every chat matching the filters, page after page."""
        return walk(
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

    def get(self, chat_id: str) -> ChatDetail:
        """A chat with all its messages (`.messages`)."""
        return ChatDetail.from_dict(self._t.request("GET", f"{API}/sessions/{chat_id}"))

    def messages(self, chat_id: str, *, limit: int | None = None, offset: int = 0) -> Page[Message]:
        """A page of a chat's messages, in order."""
        params = {"limit": limit, "offset": offset}
        data = self._t.request("GET", f"{API}/sessions/{chat_id}/messages", params=params)
        return page_of(data, Message.from_dict, limit=limit or 20, offset=offset)

    def iter_messages(self, chat_id: str) -> Iterator[Message]:
        return walk(lambda offset: self.messages(chat_id, limit=PAGE, offset=offset))

    def search(self, q: str, *, limit: int | None = None, offset: int = 0, **filters: Any) -> SearchResults:
        """Matching chats (`.sessions`) and messages (`.messages`), ranked, with highlighted
        snippets. Filters: provider, workspace_id, role, since, until, tools."""
        data = self._t.request("GET", f"{API}/search", params=search_params(q, limit, offset, filters))
        return SearchResults.from_dict(data)

    def export(self, chat_id: str, format: str = "markdown") -> bytes:
        """The chat as a file: json, markdown (md), html or pdf."""
        return self._t.content("GET", f"{API}/sessions/{chat_id}/export", params=export_params(format))

    def create(
        self,
        title: str | None = None,
        *,
        messages: builtins.list[dict[str, str]] | None = None,
        workspace_id: str | None = None,
        provider: str | None = None,
        tags: builtins.list[str] | None = None,
    ) -> ChatDetail:
        """A new chat, with messages given as {"role", "content"}."""
        payload = create_body(title, messages, workspace_id, provider, tags)
        return ChatDetail.from_dict(self._t.request("POST", f"{API}/sessions", json=payload))

    def add_message(self, chat_id: str, role: str, content: str) -> Message:
        data = self._t.request(
            "POST", f"{API}/sessions/{chat_id}/messages", json={"role": role, "content": content}
        )
        return Message.from_dict(data)

    def update(
        self,
        chat_id: str,
        *,
        title: str | None = None,
        tags: builtins.list[str] | None = None,
        archived: bool | None = None,
    ) -> Chat:
        payload = body(title=title, tags=tags, archived=archived)
        return Chat.from_dict(self._t.request("PUT", f"{API}/sessions/{chat_id}", json=payload))

    def archive(self, chat_id: str) -> Chat:
        return Chat.from_dict(self._t.request("POST", f"{API}/sessions/{chat_id}/archive"))

    def delete(self, chat_id: str) -> None:
        self._t.request("DELETE", f"{API}/sessions/{chat_id}")

    def fork(self, chat_id: str, *, message_id: str | None = None, title: str | None = None) -> ChatDetail:
        """A copy of the chat, up to and including `message_id` when given."""
        payload = body(message_id=message_id, title=title)
        return ChatDetail.from_dict(self._t.request("POST", f"{API}/sessions/{chat_id}/fork", json=payload))

    def merge(
        self, chat_ids: builtins.list[str], *, title: str | None = None, strategy: str = "interleave"
    ) -> ChatDetail:
        """A new chat of the given ones' messages: interleave (by time), concatenate or smart."""
        payload = body(session_ids=chat_ids, title=title, strategy=strategy)
        return ChatDetail.from_dict(self._t.request("POST", f"{API}/sessions/merge", json=payload))

    def upload_transcripts(
        self, files: builtins.list[tuple[str, bytes | IO[bytes]]], *, source: str | None = None
    ) -> HarvestReport:
        """Parse transcript files or archives (name, content) into the library."""
        data = self._t.request(
            "POST",
            f"{API}/harvest/upload",
            files=upload_files(files),
            data={"source": source} if source else None,
        )
        return HarvestReport.from_dict(data)
