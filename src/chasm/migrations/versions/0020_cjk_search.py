"""CJK search: every Chinese, Japanese or Korean character is a token on both databases

Both tokenizers read a run of CJK characters as one word, so `文章` was not found inside
`日本語の文章を検索する`. Now each CJK character is set apart by U+001F before it is indexed
(`chasm_cjk(text)`, see `chasm.kit.cjk`), and the search turns a CJK query word into the phrase of
its characters: a substring match. The snippets are cut from the separated text and the service
takes the separators out again, so they read as the chat did.

SQLite: `chasm_cjk` is a Python function registered on every connection the program opens. The FTS5
tables read their text through two views that separate it (`chat_messages_fts_source`,
`chats_fts_source`), so snippets and highlights see the tokens the index holds, and the triggers
index what the views show. Cheap for an existing library: the tables' `content=` option is switched
to the views in the schema text (no rebuild of the index), and only the rows holding CJK text are
taken out of the index and put back separated.

PostgreSQL: `chasm_cjk` is an SQL function and `chasm_fts_text` (migration 0014) now calls it, so the
stored vectors of new rows separate CJK; the rows holding CJK text are rewritten in place so that
their generated vectors are computed again.

Revision ID: 0020_cjk_search
Revises: 0014_search_parity
Create Date: 2026-12-06 14:10:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

from chasm.kit import cjk

revision: str = "0020_cjk_search"
down_revision: str | Sequence[str] | None = "0014_search_parity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The CJK letters, frozen here (kit/cjk.py may grow; this step did what it did).
CJK_CLASS = (
    "[\\u1100-\\u11ff\\u3005-\\u3007\\u3041-\\u3096\\u309d-\\u309f\\u30a1-\\u30fa\\u30fc-\\u30ff"
    "\\u3105-\\u312f\\u3131-\\u318e\\u31a0-\\u31bf\\u31f0-\\u31ff\\u3400-\\u4dbf\\u4e00-\\u9fff"
    "\\ua960-\\ua97f\\uac00-\\ud7a3\\ud7b0-\\ud7ff\\uf900-\\ufaff\\uff66-\\uff9f\\uffa0-\\uffdc"
    "\\U00020000-\\U0003134f]"
)

# --- SQLite ---------------------------------------------------------------------------------------

SQLITE_VIEWS = [
    """CREATE VIEW chat_messages_fts_source AS
        SELECT rowid AS rid, chasm_cjk(content) AS content, chasm_cjk(tool_text) AS tool_text
        FROM chat_messages""",
    """CREATE VIEW chats_fts_source AS
        SELECT rowid AS rid, chasm_cjk(coalesce(title, '')) AS title FROM chats""",
]
SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS chat_messages_fts_ai",
    "DROP TRIGGER IF EXISTS chat_messages_fts_ad",
    "DROP TRIGGER IF EXISTS chat_messages_fts_au",
    "DROP TRIGGER IF EXISTS chats_fts_ai",
    "DROP TRIGGER IF EXISTS chats_fts_ad",
    "DROP TRIGGER IF EXISTS chats_fts_au",
    """CREATE TRIGGER chat_messages_fts_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(rowid, content, tool_text)
        VALUES (new.rowid, chasm_cjk(new.content), chasm_cjk(new.tool_text));
    END""",
    """CREATE TRIGGER chat_messages_fts_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, chasm_cjk(old.content), chasm_cjk(old.tool_text));
    END""",
    """CREATE TRIGGER chat_messages_fts_au AFTER UPDATE OF content, tool_text ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, chasm_cjk(old.content), chasm_cjk(old.tool_text));
        INSERT INTO chat_messages_fts(rowid, content, tool_text)
        VALUES (new.rowid, chasm_cjk(new.content), chasm_cjk(new.tool_text));
    END""",
    """CREATE TRIGGER chats_fts_ai AFTER INSERT ON chats BEGIN
        INSERT INTO chats_fts(rowid, title) VALUES (new.rowid, chasm_cjk(coalesce(new.title, '')));
    END""",
    """CREATE TRIGGER chats_fts_ad AFTER DELETE ON chats BEGIN
        INSERT INTO chats_fts(chats_fts, rowid, title)
        VALUES ('delete', old.rowid, chasm_cjk(coalesce(old.title, '')));
    END""",
    """CREATE TRIGGER chats_fts_au AFTER UPDATE OF title ON chats BEGIN
        INSERT INTO chats_fts(chats_fts, rowid, title)
        VALUES ('delete', old.rowid, chasm_cjk(coalesce(old.title, '')));
        INSERT INTO chats_fts(rowid, title) VALUES (new.rowid, chasm_cjk(coalesce(new.title, '')));
    END""",
]
SQLITE_TRIGGERS_RESTORE = [  # 0012's message triggers, 0006's title triggers
    *SQLITE_TRIGGERS[:6],
    """CREATE TRIGGER chat_messages_fts_ai AFTER INSERT ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(rowid, content, tool_text) VALUES (new.rowid, new.content, new.tool_text);
    END""",
    """CREATE TRIGGER chat_messages_fts_ad AFTER DELETE ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, old.content, old.tool_text);
    END""",
    """CREATE TRIGGER chat_messages_fts_au AFTER UPDATE OF content, tool_text ON chat_messages BEGIN
        INSERT INTO chat_messages_fts(chat_messages_fts, rowid, content, tool_text)
        VALUES ('delete', old.rowid, old.content, old.tool_text);
        INSERT INTO chat_messages_fts(rowid, content, tool_text) VALUES (new.rowid, new.content, new.tool_text);
    END""",
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
]
# (FTS5 table, its columns, the rows' table, the text each column indexed before this step)
_SQLITE_INDEXES = (
    ("chat_messages_fts", "content, tool_text", "chat_messages", ("content", "tool_text")),
    ("chats_fts", "title", "chats", ("coalesce(title, '')",)),
)
_CONTENT = {
    "chat_messages_fts": (
        "content='chat_messages', content_rowid='rowid'",
        "content='chat_messages_fts_source', content_rowid='rid'",
    ),
    "chats_fts": (
        "content='chats', content_rowid='rowid'",
        "content='chats_fts_source', content_rowid='rid'",
    ),
}


def _sqlite_reindex(conn: sa.Connection, rowids: dict[str, list[int]], separated: bool) -> None:
    """Take the listed rows out of each index as they were indexed, and put them back the new way
    (`separated`: with CJK set apart)."""
    for fts, columns, table, texts in _SQLITE_INDEXES:
        plain = ", ".join(texts)
        marked = ", ".join(f"chasm_cjk({t})" for t in texts)
        old, new = (plain, marked) if separated else (marked, plain)
        ids = rowids[fts]
        for start in range(0, len(ids), 500):
            listed = ", ".join(str(int(i)) for i in ids[start : start + 500])
            where = f"FROM {table} WHERE rowid IN ({listed})"
            conn.execute(
                sa.text(f"INSERT INTO {fts}({fts}, rowid, {columns}) SELECT 'delete', rowid, {old} {where}")
            )
            conn.execute(sa.text(f"INSERT INTO {fts}(rowid, {columns}) SELECT rowid, {new} {where}"))


def _sqlite_switch_content(conn: sa.Connection, to_views: bool) -> None:
    """Point the FTS5 tables at the views (or back at the tables) by editing their schema text:
    the option only names where snippets and rebuilds read the text, the index itself is the same
    (SQLite's documented way to make a schema change that leaves the stored format alone)."""
    version = int(conn.execute(sa.text("PRAGMA schema_version")).scalar_one())
    conn.execute(sa.text("PRAGMA writable_schema=ON"))
    for fts, (table_option, view_option) in _CONTENT.items():
        old, new = (table_option, view_option) if to_views else (view_option, table_option)
        sql = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": fts}
        ).scalar_one()
        if old not in sql:
            raise RuntimeError(f"unexpected definition of {fts}: {sql}")
        conn.execute(
            sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :n"),
            {"sql": sql.replace(old, new), "n": fts},
        )
    conn.execute(sa.text(f"PRAGMA schema_version={version + 1}"))
    conn.execute(sa.text("PRAGMA writable_schema=OFF"))


def _ensure_function(conn: sa.Connection) -> None:
    """`chasm_cjk` on this connection: the program's connections have it (`kit.db`); a plain one
    (alembic's own engine, a test's) gets it here."""
    try:
        conn.execute(sa.text("SELECT chasm_cjk('')"))
    except sa.exc.OperationalError:
        cjk.register_sqlite(conn.connection.dbapi_connection)


def _sqlite_upgrade(conn: sa.Connection) -> None:
    _ensure_function(conn)
    for statement in SQLITE_VIEWS:
        conn.execute(sa.text(statement))
    rowids = _cjk_rows(conn)
    _sqlite_switch_content(conn, to_views=True)
    _sqlite_reindex(conn, rowids, separated=True)
    for statement in SQLITE_TRIGGERS:
        conn.execute(sa.text(statement))


def _sqlite_downgrade(conn: sa.Connection) -> None:
    _ensure_function(conn)
    rowids = _cjk_rows(conn)
    _sqlite_reindex(conn, rowids, separated=False)
    _sqlite_switch_content(conn, to_views=False)
    for statement in SQLITE_TRIGGERS_RESTORE:
        conn.execute(sa.text(statement))
    conn.execute(sa.text("DROP VIEW chat_messages_fts_source"))
    conn.execute(sa.text("DROP VIEW chats_fts_source"))


def _cjk_rows(conn: sa.Connection) -> dict[str, list[int]]:
    """Rowids of the rows that hold CJK text, per index (their entries differ once it is separated)."""
    found = {}
    for fts, _, table, texts in _SQLITE_INDEXES:
        differs = " OR ".join(f"chasm_cjk({t}) IS NOT {t}" for t in texts)
        found[fts] = [r[0] for r in conn.execute(sa.text(f"SELECT rowid FROM {table} WHERE {differs}"))]
    return found


# --- PostgreSQL -----------------------------------------------------------------------------------


def _parity() -> ModuleType:
    """Migration 0014 (frozen): its punctuation, letters with diacritics and text functions."""
    path = Path(__file__).with_name("0014_search_parity.py")
    spec = importlib.util.spec_from_file_location("chasm_migration_0014_search_parity", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Punctuation to spaces, by a regular expression: 0014's translate() compares each character with
# every character of its list (274), about 0.7 ms for a 4 kB message, most of the cost of writing a
# message on PostgreSQL; the same result, letters with diacritics translated only in text that
# holds one of their block. The ASCII punctuation, as ranges: ! to /, : to @, [ to `, { to ~.
_PUNCTUATION_CLASS = "[!-/:-@[-`{-~]"
_LATIN_DIACRITICS = "[\\u00c0-\\u0233]"


def _pg_functions(separate: bool) -> list[str]:
    """`chasm_fts_fold` and `chasm_fts_text` of 0014 made quick, `chasm_fts_text` separating CJK;
    or (not `separate`) 0014's own."""
    parity = _parity()
    if not separate:
        return list(parity.POSTGRES_UP[:2])
    accented = parity.ACCENTED
    unaccented = parity.UNACCENTED
    spaced = f"regexp_replace(coalesce(value, ''), '{_PUNCTUATION_CLASS}', ' ', 'g')"
    fold = (
        f"CASE WHEN value ~ '{_LATIN_DIACRITICS}' THEN translate({spaced}, '{accented}', '{unaccented}')"
        f" ELSE {spaced} END"
    )
    return [
        f"""CREATE OR REPLACE FUNCTION chasm_fts_fold(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT {fold} $$""",
        f"""CREATE OR REPLACE FUNCTION chasm_fts_text(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT chasm_cjk(regexp_replace(chasm_fts_fold(value), '{parity.SHORT_PLURAL}', '\\1s00', 'gi')) $$""",
    ]


POSTGRES_CJK_FUNCTION = f"""CREATE OR REPLACE FUNCTION chasm_cjk(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT regexp_replace(value, '{CJK_CLASS}', chr(31) || '\\&' || chr(31), 'g') $$"""
# Rewriting a row computes its generated vector again, with the function as it is now.
POSTGRES_REINDEX = [
    f"UPDATE chat_messages SET content = content WHERE content ~ '{CJK_CLASS}' OR tool_text ~ '{CJK_CLASS}'",
    f"UPDATE chats SET title = title WHERE title ~ '{CJK_CLASS}'",
]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_upgrade(conn)
    elif conn.dialect.name == "postgresql":
        for statement in [POSTGRES_CJK_FUNCTION, *_pg_functions(separate=True), *POSTGRES_REINDEX]:
            op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_downgrade(conn)
    elif conn.dialect.name == "postgresql":
        for statement in [
            *_pg_functions(separate=False),
            *POSTGRES_REINDEX,
            "DROP FUNCTION chasm_cjk(text)",
        ]:
            op.execute(statement)
