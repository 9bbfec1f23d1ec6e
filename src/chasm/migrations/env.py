"""Alembic environment: runs on the connection the server hands over (see chasm.kit.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import chasm.models  # noqa: F401  (registers every table)
from chasm.kit.db import Base

target_metadata = Base.metadata

# Full-text search structures created by hand in migration 0006 (FTS5 tables and their shadow tables,
# tsvector columns): autogenerate must not propose dropping them.
_SEARCH_INDEX_NAMES = (
    "chat_messages_fts",
    "chats_fts",
    "search_vector",
    "title_vector",
    "ix_chat_messages_search_vector",
    "ix_chats_title_vector",
)


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name and name.startswith(_SEARCH_INDEX_NAMES))


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no connection or sqlalchemy.url given to alembic")
        with create_engine(url).connect() as conn:
            _configure_and_run(conn)
            conn.commit()
        return
    _configure_and_run(connection)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
