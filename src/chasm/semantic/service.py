"""Semantic search: embed messages in chunks (incrementally), find the chats whose passages are
closest to a query, and fuse that ranking with full-text search (reciprocal rank fusion)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor
from chasm.chats import repository as chats_repo
from chasm.chats.service import chat_out
from chasm.kit.db import transaction
from chasm.search import service as fulltext
from chasm.search.exceptions import InvalidQuery
from chasm.semantic import repository as repo
from chasm.semantic.chunking import chunks
from chasm.semantic.embedders import Embedder
from chasm.semantic.index import Indexes
from chasm.semantic.schemas import SemanticResult, SemanticSearchResults

log = logging.getLogger("chasm.semantic")

PENDING_BATCH = 128  # messages per embedding transaction
EMBED_SLICE = 32  # texts embedded between two looks at whether writes want the CPU back
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.)
SNIPPET_CHARS = 300


@dataclass
class Engine:
    """What a server holds for semantic search: the embedder and the indexes."""

    embedder: Embedder
    indexes: Indexes


async def index_pending(
    maker: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    account_id: uuid.UUID,
    chat_ids: list[uuid.UUID] | None = None,
    pause: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Embed every message of the account (of `chat_ids` only, if given) that has no chunk yet,
    one short transaction per batch, walking the messages once by id; how many were embedded. A
    message of whitespace gets an empty chunk (never indexed) so it is not read again. In the
    background (the indexer): `pause` is awaited before each batch, and the embedder gives way."""
    done = 0
    after: uuid.UUID | None = None
    while True:
        if pause is not None and done:
            await pause()
        async with maker() as db:
            pending = list(
                await repo.pending_messages(db, account_id, embedder.name, PENDING_BATCH, after, chat_ids)
            )
        if not pending:
            return done
        after = max(m.id for m in pending)
        pieces = [(m, part, text) for m in pending for part, text in enumerate(chunks(m.content) or [""])]
        texts = [text for _, _, text in pieces if text]
        vectors = iter(await _embed(embedder, texts, pause))
        rows: list[dict[str, Any]] = []
        for message, part, text in pieces:
            vector = next(vectors).tobytes() if text else b""
            rows.append(
                {
                    "account_id": account_id,
                    "chat_id": message.chat_id,
                    "message_id": message.id,
                    "part": part,
                    "model": embedder.name,
                    "text": text,
                    "embedding": vector,
                }
            )
        try:
            async with transaction(maker) as db:
                await repo.insert_chunks(db, rows)
        except IntegrityError:
            log.info("another process embedded these messages first")  # the next read skips them
            continue
        done += len(pending)


async def _embed(
    embedder: Embedder, texts: list[str], pause: Callable[[], Awaitable[None]] | None
) -> list[Any]:
    """The texts' vectors; in the background (`pause` given) EMBED_SLICE texts at a time, with a
    pause before each slice after the first, so that a burst of writes starting while a batch is
    being embedded waits for one slice at most, not for the whole batch."""
    if pause is None:
        return list(await embedder.embed(texts))
    vectors: list[Any] = []
    for start in range(0, len(texts), EMBED_SLICE):
        if start:
            await pause()
        vectors.extend(await embedder.embed(texts[start : start + EMBED_SLICE], background=True))
    return vectors


async def _semantic_ranking(
    db: AsyncSession, actor: Actor, engine: Engine, q: str, window: int
) -> list[tuple[uuid.UUID, float, uuid.UUID, str]]:
    """(chat id, similarity, message id, passage) of the closest chats, best first."""
    vector = (await engine.embedder.embed([q]))[0]
    k = window * 8
    while True:
        found = await engine.indexes.search(db, actor.account_id, engine.embedder.name, vector, k)
        rows = {r.id: r for r in await repo.chunks_by_key(db, actor.account_id, [key for key, _ in found])}
        best: dict[uuid.UUID, tuple[uuid.UUID, float, uuid.UUID, str]] = {}
        for key, similarity in found:
            row = rows.get(key)
            if row is not None and row.chat_id not in best:
                best[row.chat_id] = (row.chat_id, similarity, row.message_id, row.text)
        if len(best) >= window or len(found) < k:
            return list(best.values())[:window]
        k *= 4  # many passages of the same chats: look further


def _snippet(text: str) -> str:
    short = text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return fulltext.render_snippet(short)


async def search(
    db: AsyncSession, actor: Actor, engine: Engine, q: str, limit: int, mode: str = "semantic"
) -> SemanticSearchResults:
    """Chats ranked by meaning (`semantic`), or by meaning and words together (`hybrid`)."""
    if not q.strip():
        raise InvalidQuery("The search text is empty")
    window = limit if mode == "semantic" else max(limit * 3, 30)
    ranked = await _semantic_ranking(db, actor, engine, q, window)
    passages = {chat_id: (similarity, message_id, text) for chat_id, similarity, message_id, text in ranked}
    if mode == "semantic":
        order = [(chat_id, similarity) for chat_id, similarity, _, _ in ranked]
        words: dict[uuid.UUID, str] = {}
    else:
        try:
            matches = await fulltext.search_chats(db, actor, q, fulltext.make_filters(), window)
        except InvalidQuery:
            matches = []  # words the full-text index cannot take: meaning alone ranks
        fused: dict[uuid.UUID, float] = {}
        for rank, (chat_id, *_rest) in enumerate(ranked):
            fused[chat_id] = fused.get(chat_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, match in enumerate(matches):
            fused[match.id] = fused.get(match.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused.items(), key=lambda item: item[1], reverse=True)
        words = {m.id: m.snippet for m in matches}
    order = order[:limit]
    chats = {c.id: c for c in await chats_repo.get_chats(db, actor.account_id, [c for c, _ in order])}
    results = []
    for chat_id, relevance in order:
        chat = chats.get(chat_id)
        if chat is None:
            continue  # deleted since it was ranked
        passage = passages.get(chat_id)
        results.append(
            SemanticResult(
                session=chat_out(chat, host_paths=actor.instance_admin),
                relevance=round(relevance, 6),
                snippet=words[chat_id] if chat_id in words else _snippet(passage[2] if passage else ""),
                message_id=passage[1] if passage else None,
            )
        )
    return SemanticSearchResults(results=results, query=q, mode=mode, model=engine.embedder.name)  # type: ignore[arg-type]
