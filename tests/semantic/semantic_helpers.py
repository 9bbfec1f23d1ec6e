"""Waiting for the server's background indexer to embed what was stored."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from chasm.semantic import repository as repo


async def wait_indexed(app: FastAPI, limit_s: float = 60.0) -> None:
    engine = app.state.semantic
    indexer = app.state.semantic_indexer
    for _ in range(int(limit_s / 0.05)):
        async with app.state.sessionmaker() as db:
            pending = await repo.accounts_with_pending(db, engine.embedder.name)
        if not pending and indexer.idle.is_set():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the indexer did not embed the stored messages")
