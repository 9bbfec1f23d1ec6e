"""Message index triggers call chasm_cjk only for text that is not ASCII (SQLite)

Migration 0020's triggers call `chasm_cjk`, a Python function, for each message's content and
tool text. A Python function called by SQLite needs the GIL: a recording batch's INSERT, which
otherwise runs on the database's thread with the GIL released, took it twice per message, each
time waiting for the event loop's thread to let it go (up to the interpreter's switch interval,
5 ms, while that thread parses the next request), so the database's thread and the event loop
no longer worked side by side. ASCII text holds no CJK letter and `chasm_cjk` returns it as it
is; the triggers now tell so in SQL (its length in bytes is its length in characters; NULL stays
NULL) and call the function only for other text. The index holds the same tokens as before: no
reindex. PostgreSQL is unchanged (its `chasm_cjk` is SQL).

Revision ID: 0021_fts_ascii_guard
Revises: 0020_cjk_search
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_fts_ascii_guard"
down_revision: str | Sequence[str] | None = "0020_cjk_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _separated(value: str) -> str:
    """SQL for chasm_cjk(value), the function called only when the text is not ASCII."""
    return (
        f"CASE WHEN {value} IS NULL OR length(CAST({value} AS BLOB)) = length({value})"
        f" THEN {value} ELSE chasm_cjk({value}) END"
    )


def _always(value: str) -> str:
    """0020's: chasm_cjk(value) for every text."""
    return f"chasm_cjk({value})"


def _triggers(s: Callable[[str], str]) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS chat_messages_fts_ai",
        "DROP TRIGGER IF EXISTS chat_messages_fts_ad",
        "DROP TRIGGER IF EXISTS chat_messages_fts_au",
        f"""CREATE TRIGGER chat_messages_fts_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(rowid, content, tool_text)
        VALUES (new.rowid, {s("new.content")}, {s("new.tool_text")});
    END""",
        f"""CREATE TRIGGER chat_messages_fts_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, {s("old.content")}, {s("old.tool_text")});
    END""",
        f"""CREATE TRIGGER chat_messages_fts_au AFTER UPDATE OF content, tool_text ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, {s("old.content")}, {s("old.tool_text")});
        INSERT INTO chat_messages_fts(rowid, content, tool_text)
        VALUES (new.rowid, {s("new.content")}, {s("new.tool_text")});
    END""",
    ]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in _triggers(_separated):
            conn.execute(sa.text(statement))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in _triggers(_always):
            conn.execute(sa.text(statement))
