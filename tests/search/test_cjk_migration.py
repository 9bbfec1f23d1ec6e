"""Migration 0020 on a library indexed before it (SQLite): CJK words inside longer runs are found
without a rebuild of the index, which stays consistent with the text it reads; downgrading restores
the former index."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from chasm.kit import cjk
from chasm.kit.db import _alembic_config

MESSAGES = ["日本語の文章を検索する", "한국어 문장에서 검색어를 찾습니다", "plain English text", ""]


def _library(path: Path) -> tuple[uuid.UUID, list[uuid.UUID]]:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0014_search_parity")
    chat_id = uuid.uuid4()
    message_ids = [uuid.uuid4() for _ in MESSAGES]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO chats (id, account_id, provider, source_id, title, title_edited, tags, archived,"
                " message_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
                " tool_call_count, source_missing, created_at, updated_at)"
                " VALUES (:id, :acc, 'claude-code', :id, '文章検索のメモ', 0, '[]', 0, 4, 0, 0, 0, 0, 0, 0,"
                " '2026-01-01', '2026-01-01')"
            ),
            {"id": chat_id.hex, "acc": uuid.uuid4().hex},
        )
        for seq, (mid, content) in enumerate(zip(message_ids, MESSAGES, strict=True)):
            conn.execute(
                sa.text(
                    "INSERT INTO chat_messages (id, chat_id, seq, role, content, tool_text, content_hash,"
                    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)"
                    " VALUES (:id, :chat, :seq, 'user', :content, :tool, :hash, 0, 0, 0, 0)"
                ),
                {
                    "id": mid.hex,
                    "chat": chat_id.hex,
                    "seq": seq,
                    "content": content,
                    "tool": "Read /repo/資料/設計書.md" if not content else None,
                    "hash": str(seq),
                },
            )
    engine.dispose()
    return chat_id, message_ids


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    cjk.register_sqlite(conn)  # as every connection of the program has it
    return conn


def _matches(conn: sqlite3.Connection, table: str, query: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (query,)).fetchone()[0])


def _consistent(conn: sqlite3.Connection) -> None:
    for table in ("chat_messages_fts", "chats_fts"):
        conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")


def test_upgrade_indexes_cjk_rows_and_downgrade_restores(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    chat_id, message_ids = _library(db)
    with _connect(db) as conn:
        assert _matches(conn, "chat_messages_fts", '"文章"') == 0  # inside a run: not found before
        assert _matches(conn, "chat_messages_fts", "english") == 1

    engine = sa.create_engine(f"sqlite:///{db}")  # a plain engine: the migration registers chasm_cjk
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "heads")
    engine.dispose()

    with _connect(db) as conn:
        _consistent(conn)
        assert _matches(conn, "chat_messages_fts", '"文 章"') == 1
        assert _matches(conn, "chat_messages_fts", '"검 색"') == 1
        assert _matches(conn, "chat_messages_fts", '"設 計"') == 1  # the tool text too
        assert _matches(conn, "chat_messages_fts", "english") == 1
        assert _matches(conn, "chats_fts", '"検 索"') == 1
        snippet = conn.execute(
            "SELECT snippet(chat_messages_fts, -1, '[', ']', '…', 24) FROM chat_messages_fts"
            " WHERE chat_messages_fts MATCH '\"文 章\"'"
        ).fetchone()[0]
        assert cjk.unmark(snippet, "[", "]") == "日本語の[文章]を検索する"
        # New rows and edits are indexed the new way by the triggers.
        conn.execute("UPDATE chat_messages SET content = '中文全文检索' WHERE id = ?", (message_ids[2].hex,))
        assert _matches(conn, "chat_messages_fts", '"检 索"') == 1
        assert _matches(conn, "chat_messages_fts", "english") == 0
        _consistent(conn)

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0014_search_parity")
    engine.dispose()
    with sqlite3.connect(db) as conn:  # no chasm_cjk needed any more
        _consistent(conn)
        assert _matches(conn, "chat_messages_fts", '"文章"') == 0
        assert _matches(conn, "chat_messages_fts", "日本語の文章を検索する") == 1
        assert _matches(conn, "chats_fts", "文章検索のメモ") == 1
        conn.execute("DELETE FROM chats WHERE id = ?", (chat_id.hex,))
        conn.execute("DELETE FROM chat_messages")
        _consistent(conn)
