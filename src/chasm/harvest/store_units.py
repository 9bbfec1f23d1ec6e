"""The statements that store parsed units: their chats, messages, workspaces and `harvest_files` rows.

`UnitWriter.store_batch` runs inside the transaction `store.HarvestStore` opens. A new chat is
inserted whole; a chat stored before has its messages replaced (the unit was parsed again) or
appended to (a log parsed on from where it was left, records already stored dropped by hash).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Connection, Table, case, delete, func, insert, literal, select, update

from chasm.harvest.model import ParsedChat, ParsedMessage
from chasm.harvest.prepare import Outcome, PreparedChat, PreparedOutcome, with_chat_id
from chasm.harvest.rows import (
    CHAT_COLUMNS,
    MessageRows,
    SqliteInserter,
    as_dicts,
    aware,
    chat_totals,
    chat_values,
    clean,
    content_hash,
    cut,
    message_rows,
    workspace_key,
)
from chasm.harvest.sources.toolkit.titles import fallback_title
from chasm.harvest.units import HEAD_BYTES, Job, head_hash
from chasm.kit.timeutil import utcnow
from chasm.models import Chat, ChatMessage, ChatWorkspace, HarvestFile

CHUNK = 500  # rows per IN (...) list

chats_t = cast(Table, Chat.__table__)
messages_t = cast(Table, ChatMessage.__table__)
workspaces_t = cast(Table, ChatWorkspace.__table__)
files_t = cast(Table, HarvestFile.__table__)

# (job, chats updated, messages added, error): error is set when the unit alone could not be stored
UnitResult = tuple[Job, int, int, str | None]


class _Pending:
    """Rows of new chats (and their messages) and of new harvest files, inserted together at the end
    of a batch: fewer statements, and on SQLite fewer (larger) FTS segments."""

    def __init__(self) -> None:
        self.chats: list[dict[str, Any]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.encoded: list[tuple[Any, ...]] = []  # message rows encoded for SQLite (`prepare`)
        self.files: list[dict[str, Any]] = []


def _harvested_title(title: str | None) -> Any:
    """The title a harvest sets on a stored chat, unless a user edited it."""
    return case((chats_t.c.title_edited, chats_t.c.title), else_=literal(title, chats_t.c.title.type))


class UnitWriter:
    """Stores units of one account. `workspaces` ((path, provider) -> id) is what exists so far;
    `touched` the workspaces that received chats. With the SQLite inserters (a pysqlite connection)
    new rows go in as multi-row statements and JSON is cleaned of NULs by the engine's serializer."""

    def __init__(
        self,
        account_id: uuid.UUID,
        chat_inserter: SqliteInserter | None = None,
        message_inserter: SqliteInserter | None = None,
    ) -> None:
        self.account_id = account_id
        self._chat_inserter = chat_inserter
        self._message_inserter = message_inserter
        self.workspaces: dict[tuple[str, str], uuid.UUID] = {}
        self.touched: set[uuid.UUID] = set()

    def store_batch(
        self,
        conn: Connection,
        provider: str,
        units: list[tuple[Job, Outcome]],
        chats: dict[str, uuid.UUID],
        created: dict[str, uuid.UUID],
    ) -> list[UnitResult]:
        """Store several units in the open transaction. First all together (new rows inserted in bulk
        at the end); should that fail, again each unit in its own savepoint: a unit that fails rolls
        back alone and the others are kept. New chats' ids go to `created`."""
        if self._message_inserter is not None:
            # pysqlite opens no transaction before a SAVEPOINT, which would then commit alone.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        workspaces = dict(self.workspaces)
        results: list[UnitResult] = []
        if len(units) > 1:
            together: dict[str, uuid.UUID] = {}
            try:
                with conn.begin_nested():
                    pending = _Pending()
                    for job, outcome in units:
                        updated, added = self._store_unit(
                            conn, provider, job, outcome, chats, created, together, pending
                        )
                        results.append((job, updated, added, None))
                    self._flush(conn, pending)
            except Exception:
                self.workspaces = dict(workspaces)
                results = []
            else:
                created.update(together)
                return results
        for job, outcome in units:
            known_workspaces = len(self.workspaces)
            mine: dict[str, uuid.UUID] = {}
            try:
                with conn.begin_nested():
                    updated, added = self._store_unit(conn, provider, job, outcome, chats, created, mine)
            except Exception as exc:
                # Forget workspaces created in the rolled-back savepoint.
                for key in list(self.workspaces)[known_workspaces:]:
                    del self.workspaces[key]
                results.append((job, 0, 0, f"{type(exc).__name__}: {exc}"))
                continue
            created.update(mine)
            results.append((job, updated, added, None))
        return results

    def _store_unit(
        self,
        conn: Connection,
        provider: str,
        job: Job,
        outcome: Outcome,
        chats: dict[str, uuid.UUID],
        created: dict[str, uuid.UUID],
        mine: dict[str, uuid.UUID],
        pending: _Pending | None = None,
    ) -> tuple[int, int]:
        """Store one unit's chats and its harvest file row. With `pending`, new rows wait there for
        `_flush` (which must run before anything else reads them)."""
        appending = job.resume is not None
        updated = added = 0
        chat: ParsedChat | PreparedChat
        for chat in outcome.chats:
            sid = chat.source_id
            chat_id = chats.get(sid) or created.get(sid) or mine.get(sid)
            if chat_id is None:
                if isinstance(chat, PreparedChat):
                    assert isinstance(outcome, PreparedOutcome)
                    chat_id, n = self._insert_prepared(conn, provider, chat, outcome.encoded, pending)
                else:
                    chat_id, n = self._insert_chat(conn, provider, chat, pending)
                mine[sid] = chat_id
            else:
                if pending is not None:
                    self._flush(conn, pending)  # the chat may be one of the rows still pending
                if isinstance(chat, PreparedChat):
                    assert isinstance(outcome, PreparedOutcome)
                    n = self._replace_prepared(conn, chat_id, provider, chat, outcome.encoded)
                elif appending:
                    n = self._append_messages(conn, chat_id, chat)
                else:
                    n = self._replace_messages(conn, chat_id, provider, chat)
                updated += 1
            added += n
        self._save_file(conn, provider, job, outcome, pending)
        return updated, added

    def _flush(self, conn: Connection, pending: _Pending) -> None:
        """Insert what waits in `pending`: files, chats, then their messages (the FTS index of
        messages is then written once for the whole batch)."""
        if pending.files:
            conn.execute(insert(files_t), pending.files)
        if pending.chats:
            if self._chat_inserter is not None:
                self._chat_inserter.insert(conn, [tuple(c[k] for k in CHAT_COLUMNS) for c in pending.chats])
            else:
                conn.execute(insert(chats_t), pending.chats)
        if pending.messages:
            self._insert_messages(conn, pending.messages)
        if pending.encoded:
            self._insert_messages(conn, pending.encoded, encoded=True)
        pending.files, pending.chats, pending.messages, pending.encoded = [], [], [], []

    def _message_rows(
        self, chat_id: uuid.UUID, messages: list[ParsedMessage], start: int, seen: set[str]
    ) -> MessageRows:
        # On SQLite the JSON columns are cleaned of NUL characters by the engine's serializer.
        return message_rows(chat_id, messages, start, seen, clean_json=self._message_inserter is None)

    def _insert_messages(self, s: Connection, rows: list[tuple[Any, ...]], encoded: bool = False) -> None:
        if self._message_inserter is not None:
            self._message_inserter.insert(s, rows, encoded=encoded)
        else:
            s.execute(insert(messages_t), as_dicts(rows))

    def _workspace_id(self, s: Connection, provider: str, key: tuple[str, str] | None) -> uuid.UUID | None:
        if key is None:
            return None
        path, name = cut(key[0], 2000) or "", cut(key[1], 500) or ""
        found = self.workspaces.get((path, provider))
        if found is None:
            found = uuid.uuid4()
            now = utcnow()
            s.execute(
                insert(workspaces_t).values(
                    id=found,
                    account_id=self.account_id,
                    name=name,
                    path=path,
                    provider=provider,
                    created_at=now,
                    updated_at=now,
                )
            )
            self.workspaces[(path, provider)] = found
        self.touched.add(found)
        return found

    def _insert_chat(
        self, s: Connection, provider: str, parsed: ParsedChat, pending: _Pending | None = None
    ) -> tuple[uuid.UUID, int]:
        chat_id = uuid.uuid4()
        rows = self._message_rows(chat_id, parsed.messages, 0, set())
        values = chat_values(parsed, self._workspace_id(s, provider, workspace_key(parsed)))
        values.setdefault("title", None)
        values.setdefault("metadata", None)
        row = {
            "id": chat_id,
            "account_id": self.account_id,
            "provider": provider,
            "source_id": cut(parsed.source_id, 300),
            "tags": [],
            "archived": False,
            "created_at": aware(parsed.created_at) or utcnow(),
            **chat_totals(parsed, rows),
            **values,
        }
        if pending is not None:
            pending.chats.append(row)
            pending.messages.extend(rows.rows)
            return chat_id, len(rows.rows)
        s.execute(insert(chats_t), [row])  # parameters apart, so the compiled statement is cached
        if rows.rows:
            self._insert_messages(s, rows.rows)
        return chat_id, len(rows.rows)

    def _insert_prepared(
        self, s: Connection, provider: str, chat: PreparedChat, encoded: bool, pending: _Pending | None = None
    ) -> tuple[uuid.UUID, int]:
        """`_insert_chat` of a chat made into rows where it was parsed (`prepare`)."""
        row = {
            "id": chat.chat_id,
            "account_id": self.account_id,
            "provider": provider,
            "source_id": cut(chat.source_id, 300),
            "tags": [],
            "archived": False,
            "created_at": chat.created_at or utcnow(),
            "title": None,
            "metadata": None,
            **chat.totals,
            **chat.values,
            "workspace_id": self._workspace_id(s, provider, chat.workspace),
        }
        if pending is not None:
            pending.chats.append(row)
            (pending.encoded if encoded else pending.messages).extend(chat.rows)
        else:
            s.execute(insert(chats_t), [row])
            if chat.rows:
                self._insert_messages(s, chat.rows, encoded=encoded)
        return chat.chat_id, len(chat.rows)

    def _replace_prepared(
        self, s: Connection, chat_id: uuid.UUID, provider: str, chat: PreparedChat, encoded: bool
    ) -> int:
        """`_replace_messages` of a chat made into rows where it was parsed (`prepare`)."""
        s.execute(delete(messages_t).where(messages_t.c.chat_id == chat_id))
        if chat.rows:
            self._insert_messages(s, with_chat_id(chat, chat_id, encoded), encoded=encoded)
        values = {**chat.values, "workspace_id": self._workspace_id(s, provider, chat.workspace)}
        if "title" in values:
            values["title"] = _harvested_title(values["title"])
        s.execute(update(chats_t).where(chats_t.c.id == chat_id).values(**chat.totals, **values))
        return len(chat.rows)

    def _replace_messages(self, s: Connection, chat_id: uuid.UUID, provider: str, parsed: ParsedChat) -> int:
        s.execute(delete(messages_t).where(messages_t.c.chat_id == chat_id))
        rows = self._message_rows(chat_id, parsed.messages, 0, set())
        if rows.rows:
            self._insert_messages(s, rows.rows)
        values = chat_values(parsed, self._workspace_id(s, provider, workspace_key(parsed)))
        if "title" in values:
            values["title"] = _harvested_title(values["title"])
        s.execute(
            update(chats_t).where(chats_t.c.id == chat_id).values(**chat_totals(parsed, rows), **values)
        )
        return len(rows.rows)

    def _append_messages(self, s: Connection, chat_id: uuid.UUID, parsed: ParsedChat) -> int:
        last_seq = (
            s.execute(select(func.max(messages_t.c.seq)).where(messages_t.c.chat_id == chat_id))
        ).scalar()
        candidates = [
            content_hash((m.role or "assistant")[:20], clean(m.content or ""), aware(m.timestamp))
            for m in parsed.messages
            if m.source_id is None
        ]
        seen: set[str] = set()
        for i in range(0, len(candidates), CHUNK):
            found = s.execute(
                select(messages_t.c.content_hash).where(
                    messages_t.c.chat_id == chat_id, messages_t.c.content_hash.in_(candidates[i : i + CHUNK])
                )
            )
            seen.update(found.scalars())
        start = (last_seq + 1) if last_seq is not None else 0
        rows = self._message_rows(chat_id, parsed.messages, start, seen)
        if rows.rows:
            self._insert_messages(s, rows.rows)
        values: dict[str, Any] = {
            "message_count": chats_t.c.message_count + len(rows.rows),
            "input_tokens": chats_t.c.input_tokens + rows.input_tokens,
            "output_tokens": chats_t.c.output_tokens + rows.output_tokens,
            "cache_read_tokens": chats_t.c.cache_read_tokens + rows.cache_read_tokens,
            "cache_write_tokens": chats_t.c.cache_write_tokens + rows.cache_write_tokens,
            "tool_call_count": chats_t.c.tool_call_count + rows.tool_calls,
            "started_at": func.coalesce(chats_t.c.started_at, rows.first),
            "source_missing": False,
        }
        if rows.last is not None or parsed.updated_at is not None:
            values["updated_at"] = aware(parsed.updated_at) or rows.last
        if parsed.model or rows.model:
            values["model"] = cut(parsed.model or rows.model, 200)
        if parsed.title:
            values["title"] = _harvested_title(cut(parsed.title, 1000))
        elif (first_prompt := fallback_title(parsed.messages)) is not None:
            # Only the new messages were parsed: their first prompt titles a chat that has no title yet.
            values["title"] = func.coalesce(func.nullif(chats_t.c.title, ""), first_prompt)
        s.execute(update(chats_t).where(chats_t.c.id == chat_id).values(**values))
        return len(rows.rows)

    def _save_file(
        self, s: Connection, provider: str, job: Job, outcome: Outcome, pending: _Pending | None = None
    ) -> None:
        source_ids = [c.source_id for c in outcome.chats]
        if job.resume is not None and job.known is not None:
            source_ids = list(dict.fromkeys([*job.known.chat_source_ids, *source_ids]))
        elif job.known is not None:
            dropped = [sid for sid in job.known.chat_source_ids if sid not in set(source_ids)]
            if dropped:
                s.execute(
                    update(chats_t)
                    .where(
                        chats_t.c.account_id == self.account_id,
                        chats_t.c.provider == provider,
                        chats_t.c.source_id.in_(dropped[:CHUNK]),
                    )
                    .values(source_missing=True)
                )
        if isinstance(outcome, PreparedOutcome):
            head = outcome.head  # read where it was parsed
        else:
            head = head_hash(job.unit.paths[0], min(job.size, HEAD_BYTES)) if job.unit.resumable else None
        values = {
            "fingerprint": job.fingerprint[:200],
            "size": job.size,
            "head_hash": head,
            "resume_offset": outcome.resume.offset if outcome.resume else None,
            "resume_state": clean(outcome.resume.state) if outcome.resume else None,
            "chat_source_ids": source_ids,
            "missing": False,
            "harvested_at": utcnow(),
        }
        if job.known is None:
            row = {
                "id": uuid.uuid4(),
                "account_id": self.account_id,
                "provider": provider,
                "unit_key": job.unit.key,
                **values,
            }
            if pending is not None:
                pending.files.append(row)
            else:
                s.execute(insert(files_t), [row])
        else:
            s.execute(
                update(files_t)
                .where(
                    files_t.c.account_id == self.account_id,
                    files_t.c.provider == provider,
                    files_t.c.unit_key == job.unit.key,
                )
                .values(**values)
            )
