"""chat search index

Full-text index over chat titles and message content. SQLite: FTS5 external-content tables kept in
sync by triggers. PostgreSQL: generated tsvector columns with GIN indexes. Both stay right whatever
writes the rows (ORM, bulk Core inserts of the harvest engine, raw SQL).

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# porter stemming on SQLite matches the 'english' configuration used on PostgreSQL.
SQLITE_UP = [
    """CREATE VIRTUAL TABLE chat_messages_fts USING fts5(
        content, content='chat_messages', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER chat_messages_fts_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(rowid, content) VALUES (new.rowid, new.content);
    END""",
    """CREATE TRIGGER chat_messages_fts_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END""",
    """CREATE TRIGGER chat_messages_fts_au AFTER UPDATE OF content ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
        INSERT INTO chat_messages_fts(rowid, content) VALUES (new.rowid, new.content);
    END""",
    """CREATE VIRTUAL TABLE chats_fts USING fts5(
        title, content='chats', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER chats_fts_ai AFTER INSERT ON chats BEGIN
        INSERT INTO chats_fts(rowid, title) VALUES (new.rowid, coalesce(new.title, ''));
    END""",
    """CREATE TRIGGER chats_fts_ad AFTER DELETE ON chats BEGIN
        INSERT INTO chats_fts(chats_fts, rowid, title) VALUES ('delete', old.rowid, coalesce(old.title, ''));
    END""",
    """CREATE TRIGGER chats_fts_au AFTER UPDATE OF title ON chats BEGIN
        INSERT INTO chats_fts(chats_fts, rowid, title) VALUES ('delete', old.rowid, coalesce(old.title, ''));
        INSERT INTO chats_fts(rowid, title) VALUES (new.rowid, coalesce(new.title, ''));
    END""",
    "INSERT INTO chat_messages_fts(chat_messages_fts) VALUES ('rebuild')",
    "INSERT INTO chats_fts(chats_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS chat_messages_fts_ai",
    "DROP TRIGGER IF EXISTS chat_messages_fts_ad",
    "DROP TRIGGER IF EXISTS chat_messages_fts_au",
    "DROP TRIGGER IF EXISTS chats_fts_ai",
    "DROP TRIGGER IF EXISTS chats_fts_ad",
    "DROP TRIGGER IF EXISTS chats_fts_au",
    "DROP TABLE IF EXISTS chat_messages_fts",
    "DROP TABLE IF EXISTS chats_fts",
]

POSTGRES_UP = [
    """ALTER TABLE chat_messages ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english', coalesce(content, ''))) STORED""",
    "CREATE INDEX ix_chat_messages_search_vector ON chat_messages USING gin (search_vector)",
    """ALTER TABLE chats ADD COLUMN title_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, ''))) STORED""",
    "CREATE INDEX ix_chats_title_vector ON chats USING gin (title_vector)",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_chats_title_vector",
    "ALTER TABLE chats DROP COLUMN IF EXISTS title_vector",
    "DROP INDEX IF EXISTS ix_chat_messages_search_vector",
    "ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector",
]


def _statements(up: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == "postgresql":
        return POSTGRES_UP if up else POSTGRES_DOWN
    return []


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
