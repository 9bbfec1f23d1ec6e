"""SQL of the system domain: per-account chat settings, library counts, database size and upkeep."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chasm.models import Chat, ChatSettings, ChatWorkspace
from chasm.system.exceptions import DatabaseBusy

SQLITE_FTS_TABLES = ("chat_messages_fts", "chats_fts")


async def get_settings_row(db: AsyncSession, account_id: uuid.UUID) -> ChatSettings | None:
    return await db.get(ChatSettings, account_id)


async def library_counts(db: AsyncSession, account_id: uuid.UUID) -> tuple[int, int, int]:
    """(chats, chat workspaces, providers with chats) of the account."""
    chats, providers = (
        await db.execute(
            select(func.count(Chat.id), func.count(func.distinct(Chat.provider))).where(
                Chat.account_id == account_id
            )
        )
    ).one()
    workspaces = await db.scalar(
        select(func.count(ChatWorkspace.id)).where(ChatWorkspace.account_id == account_id)
    )
    return int(chats or 0), int(workspaces or 0), int(providers or 0)


def sqlite_path(engine: AsyncEngine) -> Path | None:
    database = engine.url.database
    return Path(database) if database and database != ":memory:" else None


async def database_size(engine: AsyncEngine) -> int:
    """Bytes the database takes on disk (SQLite: file and WAL; PostgreSQL: the whole database)."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine)
        if path is None:
            return 0
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)


async def vacuum(engine: AsyncEngine) -> dict[str, Any]:
    """VACUUM on SQLite (then the FTS indexes are rebuilt: VACUUM may renumber the implicit rowids
    they point at); VACUUM ANALYZE of the current schema's tables on PostgreSQL. Both run on an
    autocommit connection of their own, as neither may run inside a transaction."""
    try:
        return await _vacuum(engine)
    except OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise DatabaseBusy("The database is busy (a write is in progress); try again shortly") from exc


async def _vacuum(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "sqlite":
            await auto.execute(text("VACUUM"))
            rebuilt = []
            for table in SQLITE_FTS_TABLES:
                exists = await auto.scalar(
                    text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :n"),
                    {"n": table},
                )
                if exists:
                    await auto.execute(text(f"INSERT INTO {table}({table}) VALUES ('rebuild')"))
                    rebuilt.append(table)
            await auto.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            return {"operation": "VACUUM", "search_indexes_rebuilt": rebuilt}
        tables = list(
            await auto.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        )
        if tables:
            names = ", ".join('"' + t.replace('"', '""') + '"' for t in tables)
            await auto.execute(text(f"VACUUM ANALYZE {names}"))
        return {"operation": "VACUUM ANALYZE", "tables": len(tables)}


async def all_settings(db: AsyncSession) -> list[tuple[uuid.UUID, Any]]:
    """Every account's chat-library settings: (account id, data)."""
    rows = await db.execute(select(ChatSettings.account_id, ChatSettings.data))
    return [(account, data) for account, data in rows]
