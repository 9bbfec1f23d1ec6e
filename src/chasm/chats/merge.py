"""Merge strategies: how the messages of several chats become one ordered list.

Pure functions over `MergeItem`s so the rules can be read (and tested) without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class MergeItem:
    chat_index: int  # position of its chat in the request
    seq: int
    role: str
    content: str
    created_at: datetime | None
    content_hash: str
    payload: Any = None  # what the caller copies (the stored message)

    @property
    def text_key(self) -> tuple[str, str]:
        return self.role, self.content


def concatenate(chats: Sequence[Sequence[MergeItem]]) -> list[MergeItem]:
    """Each chat in full, in the order they were given."""
    return [item for chat in chats for item in chat]


def interleave(chats: Sequence[Sequence[MergeItem]]) -> list[MergeItem]:
    """All messages by time. A message without a timestamp keeps the time of the one before it in
    its chat, so it stays after it; ties keep the request order, then each chat's order."""
    keyed: list[tuple[datetime | None, int, int, MergeItem]] = []
    for chat in chats:
        last: datetime | None = None
        for item in chat:
            last = item.created_at or last
            keyed.append((last, item.chat_index, item.seq, item))
    floor = min((k[0] for k in keyed if k[0] is not None), default=None)
    keyed.sort(key=lambda k: (k[0] or floor or datetime.min, k[1], k[2]))
    return [k[3] for k in keyed]


def _shared_prefix(merged: Sequence[MergeItem], chat: Sequence[MergeItem]) -> int:
    """How many leading messages of `chat` repeat a run of `merged` (a fork or a resumed copy)."""
    if not chat:
        return 0
    best = 0
    first = chat[0].text_key
    for start, item in enumerate(merged):
        if item.text_key != first:
            continue
        n = 0
        while start + n < len(merged) and n < len(chat) and merged[start + n].text_key == chat[n].text_key:
            n += 1
        best = max(best, n)
    return best


def smart(chats: Sequence[Sequence[MergeItem]]) -> list[MergeItem]:
    """Drop what the chats share: a leading run of messages that another chat already holds (forks,
    continued sessions) and exact duplicates (same role, text and time). What remains is ordered by
    time when every message has one, else chat after chat."""
    merged: list[MergeItem] = []
    seen: set[str] = set()
    for chat in chats:
        skip = _shared_prefix(merged, chat)
        for item in chat[skip:]:
            if item.content_hash in seen:
                continue
            seen.add(item.content_hash)
            merged.append(item)
        for item in chat[:skip]:
            seen.add(item.content_hash)
    if merged and all(item.created_at is not None for item in merged):
        merged.sort(key=lambda i: (i.created_at, i.chat_index, i.seq))  # type: ignore[return-value]
    return merged


STRATEGIES = {"concatenate": concatenate, "interleave": interleave, "smart": smart}
