"""The approximate nearest-neighbour index of each account's chunks: a usearch HNSW graph kept in
memory and saved under `<data_dir>/semantic/`. It is a cache of the chat_chunks table: before each
query it takes in the chunks added since (by any process: keys only grow), and it is rebuilt from
the table when the file is missing, unreadable, or holds other keys than the table."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession
from usearch.index import Index

from chasm.semantic import repository as repo

log = logging.getLogger("chasm.semantic")

LOAD_BATCH = 5000


EXPANSION_SEARCH = 256  # recall over speed: a query stays in milliseconds (bench/semantic.py)


def new_index(ndim: int) -> Index:
    return Index(
        ndim=ndim,
        metric="cos",
        dtype="f32",
        connectivity=16,
        expansion_add=128,
        expansion_search=EXPANSION_SEARCH,
    )


@dataclass
class _Entry:
    path: Path
    index: Index | None = None
    top: int = 0  # highest key in the index
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _vectors(rows: list[Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    keys = np.array([r[0] for r in rows], dtype=np.uint64)
    vectors = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    return keys, vectors


class Indexes:
    """One index per (account, model), loaded on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._entries: dict[tuple[uuid.UUID, str], _Entry] = {}

    def _entry(self, account_id: uuid.UUID, model: str) -> _Entry:
        key = (account_id, model)
        if key not in self._entries:
            slug = hashlib.sha256(model.encode()).hexdigest()[:12]
            self._entries[key] = _Entry(self.folder / f"{account_id}-{slug}.usearch")
        return self._entries[key]

    async def search(
        self, db: AsyncSession, account_id: uuid.UUID, model: str, vector: np.ndarray[Any, Any], k: int
    ) -> list[tuple[int, float]]:
        """The `k` nearest chunk keys and their cosine similarity, best first."""
        entry = self._entry(account_id, model)
        async with entry.lock:
            await self._catch_up(db, entry, account_id, model, vector.shape[-1])
            index = entry.index
            if index is None or len(index) == 0:
                return []
            found = await asyncio.to_thread(index.search, vector, min(k, len(index)))
        return [(int(key), 1.0 - float(d)) for key, d in zip(found.keys, found.distances, strict=True)]

    async def _catch_up(
        self, db: AsyncSession, entry: _Entry, account_id: uuid.UUID, model: str, ndim: int
    ) -> None:
        count, top = await repo.chunk_stats(db, account_id, model)
        if entry.index is None:
            entry.index, entry.top = await asyncio.to_thread(self._load, entry.path, ndim)
        changed = False
        if top > entry.top:
            changed = await self._add_from(db, entry, account_id, model, entry.top) or changed
        held = len(entry.index) if entry.index is not None else 0
        if held != count:  # chunks deleted, or keys skipped by concurrent writers
            log.info("rebuilding the semantic index of %s (%d keys, %d chunks)", account_id, held, count)
            entry.index, entry.top = new_index(ndim), 0
            await self._add_from(db, entry, account_id, model, 0)
            changed = True
        if changed:
            await asyncio.to_thread(self._save, entry)

    async def _add_from(
        self, db: AsyncSession, entry: _Entry, account_id: uuid.UUID, model: str, after: int
    ) -> bool:
        assert entry.index is not None
        added = False
        while True:
            rows = list(await repo.chunk_vectors(db, account_id, model, after, LOAD_BATCH))
            if not rows:
                return added
            keys, vectors = _vectors(rows)
            if vectors.shape[1] != entry.index.ndim:  # another model's size: start afresh at this size
                entry.index = new_index(vectors.shape[1])
            await asyncio.to_thread(entry.index.add, keys, vectors)
            after = entry.top = int(keys[-1])
            added = True

    @staticmethod
    def _load(path: Path, ndim: int) -> tuple[Index, int]:
        if path.is_file():
            try:
                index = Index.restore(str(path))
                if index is not None and index.ndim == ndim:
                    index.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # settable at run time
                    top = int(np.asarray(index.keys).max()) if len(index) else 0
                    return index, top
            except Exception:
                log.warning("semantic index %s is unreadable; rebuilding it", path, exc_info=True)
        return new_index(ndim), 0

    @staticmethod
    def _save(entry: _Entry) -> None:
        assert entry.index is not None
        entry.path.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.path.with_suffix(".partial")
        entry.index.save(str(partial))
        partial.replace(entry.path)
