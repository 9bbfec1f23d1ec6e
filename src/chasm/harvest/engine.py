"""The harvest engine: turns every unit of every source into stored chats, incrementally.

For each unit the engine compares a fingerprint of its files (size and mtime of each) with the one
stored in `harvest_files`: unchanged units are not read at all; an append-only log that only grew
is parsed from where it was left and its new messages are appended; anything else is parsed again
and its chats' messages replaced. Parsing runs in a worker thread (or, with `workers > 1`, a
process pool for large batches); storing uses Core bulk inserts, one transaction per unit, so a
failure never leaves a half-stored chat and never touches what other units stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseOutcome, Resume, SourceUnit
from chasm.harvest.rows import MESSAGE_COLUMNS, MessageRows, SqliteInserter, as_dicts, json_text, message_rows
from chasm.harvest.rows import aware as _aware
from chasm.harvest.rows import clean as _clean
from chasm.harvest.rows import content_hash as content_hash
from chasm.harvest.rows import cut as _cut
from chasm.harvest.sources._common_a import gc_pause
from chasm.harvest.spec import HarvestSource
from chasm.kit.timeutil import utcnow
from chasm.models import Chat, ChatMessage, ChatWorkspace, HarvestFile

HEAD_BYTES = 4096
PROCESS_POOL_MIN_BYTES = 32 * 1024 * 1024  # below this, spawning parser processes costs more than it saves
IN_FLIGHT_PER_WORKER = 4
CHUNK = 500  # rows per IN (...) list
THREAD_READ_AHEAD_BYTES = 8 * 1024 * 1024  # source bytes a parser thread may parse ahead of the store
BATCH_BYTES = 8 * 1024 * 1024  # source bytes stored per transaction (keeps write transactions short)
BATCH_UNITS = 200
# Unit keys of uploaded files (harvest/upload.py): a harvest of the server's folders never sees
# them, so it must not take them for missing.
UPLOAD_KEY_PREFIX = "upload:"
_T = TypeVar("_T")

chats_t = cast(Table, Chat.__table__)
messages_t = cast(Table, ChatMessage.__table__)
workspaces_t = cast(Table, ChatWorkspace.__table__)
files_t = cast(Table, HarvestFile.__table__)
CHAT_COLUMNS = (
    "id",
    "account_id",
    "provider",
    "source_id",
    "tags",
    "archived",
    "created_at",
    "message_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "tool_call_count",
    "started_at",
    "updated_at",
    "model",
    "workspace_id",
    "source_path",
    "source_missing",
    "parent_source_id",
    "title",
    "metadata",
)


@dataclass
class ProviderCounts:
    units_seen: int = 0
    units_parsed: int = 0
    units_skipped: int = 0
    chats_created: int = 0
    chats_updated: int = 0
    messages_added: int = 0
    errors: int = 0
    bytes_parsed: int = 0


@dataclass
class HarvestIssue:
    provider: str
    path: str
    message: str
    line: int | None = None

    def as_text(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{self.provider}: {where}: {self.message}"


@dataclass
class HarvestReport:
    providers: dict[str, ProviderCounts] = field(default_factory=dict)
    issues: list[HarvestIssue] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def chats_stored(self) -> int:
        return sum(c.chats_created + c.chats_updated for c in self.providers.values())

    @property
    def messages_added(self) -> int:
        return sum(c.messages_added for c in self.providers.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "providers": {name: asdict(c) for name, c in self.providers.items()},
            "providers_scanned": list(self.providers),
            "sessions_count": self.chats_stored,
            "messages_count": self.messages_added,
            "errors": [i.as_text() for i in self.issues],
            "issues": [asdict(i) for i in self.issues],
            "duration_ms": self.duration_ms,
        }


@dataclass
class SourcePlan:
    """One source to harvest: where to look, and optionally which units only (a refresh)."""

    source: HarvestSource
    roots: list[Path]
    unit_keys: set[str] | None = None


# (provider, units done, units to parse)
ProgressFn = Callable[[str, int, int], None]


@dataclass
class _Known:
    fingerprint: str
    size: int
    head_hash: str | None
    resume_offset: int | None
    resume_state: dict[str, Any] | None
    chat_source_ids: list[str]
    missing: bool


@dataclass
class _Pending:
    """Rows of new chats (and their messages) and of new harvest files, inserted together at the end
    of a batch: fewer statements, and on SQLite fewer (larger) FTS segments."""

    chats: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Job:
    unit: SourceUnit
    fingerprint: str
    size: int
    resume: Resume | None
    known: _Known | None


def _parse_unit(
    source: HarvestSource, unit: SourceUnit, resume: Resume | None
) -> tuple[ParseOutcome | None, str]:
    """Runs in the worker: a source that raises is reported, not propagated."""
    try:
        return source.parse(unit, resume), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _primary(job: _Job) -> str:
    return str(job.unit.paths[0]) if job.unit.paths else job.unit.key


def _stat_fingerprint(paths: list[Path]) -> tuple[str, int] | None:
    parts = []
    size = 0
    for i, path in enumerate(paths):
        try:
            st = os.stat(path)
        except OSError:
            if i == 0:
                return None
            parts.append("-")
            continue
        if i == 0:
            size = st.st_size
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts), size


def _head_hash(path: Path, length: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read(length)).hexdigest()
    except OSError:
        return None


def _harvested_title(title: str | None) -> Any:
    """The title a harvest sets on a stored chat, unless a user edited it."""
    return case((chats_t.c.title_edited, chats_t.c.title), else_=literal(title, chats_t.c.title.type))


def workspace_key(chat: ParsedChat) -> tuple[str, str] | None:
    """(path, display name) of the chat's workspace, or None when the source knows none."""
    if chat.workspace_path:
        path = chat.workspace_path.rstrip("/\\") or chat.workspace_path
        name = path.replace("\\", "/").rsplit("/", 1)[-1] or path
        return path, chat.workspace_name or name
    if chat.workspace_name:
        return chat.workspace_name, chat.workspace_name
    return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a large library stay cached
    cur.close()


def _sqlite_sync_engine(engine: AsyncEngine) -> Engine | None:
    """A plain (sync) engine on the same SQLite file, or None for other databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    sync = create_engine(
        url.set(drivername="sqlite"),
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=json_text,
    )
    event.listen(sync, "connect", _sqlite_pragmas)
    return sync


_Parsed = tuple[_Job, ParseOutcome | None, str]


class _ParseAhead:
    """Parses jobs in order in its own thread, at most `budget` source bytes ahead of `take`."""

    def __init__(self, source: HarvestSource, jobs: list[_Job], budget: int) -> None:
        self._source = source
        self._jobs = jobs
        self._budget = budget
        self._cond = threading.Condition()
        self._ready: deque[_Parsed] = deque()
        self._ahead = 0  # bytes parsed and not taken yet
        self._finished = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="chasm-harvest-parse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The collector stays paused from the first parse to the last, not only during each: resumed
        # in between, it would scan every message parsed ahead and not stored yet, again and again
        # (about 6% of a cold harvest's CPU time). Parsed chats hold no reference cycles.
        try:
            with gc_pause():
                for job in self._jobs:
                    with self._cond:
                        while self._ahead >= self._budget and not self._stopped:
                            self._cond.wait()
                        if self._stopped:
                            return
                    outcome, error = _parse_unit(self._source, job.unit, job.resume)
                    with self._cond:
                        self._ready.append((job, outcome, error))
                        self._ahead += job.size
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def take(self, max_bytes: int, max_units: int) -> list[_Parsed]:
        """The next batch (blocking): parsed units until `max_bytes` or `max_units` is reached or
        nothing is left to parse; empty at the end."""
        batch: list[_Parsed] = []
        size = 0
        with self._cond:
            while not self._stopped:
                while self._ready and size < max_bytes and len(batch) < max_units:
                    item = self._ready.popleft()
                    batch.append(item)
                    size += item[0].size
                    self._ahead -= item[0].size
                self._cond.notify_all()
                if size >= max_bytes or len(batch) >= max_units or (self._finished and not self._ready):
                    break
                self._cond.wait()
        return batch

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class HarvestEngine:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        account_id: uuid.UUID,
        *,
        workers: int = 1,
        progress: ProgressFn | None = None,
    ) -> None:
        self.maker = maker
        self.account_id = account_id
        self.workers = max(1, workers)
        self.progress = progress
        self._workspaces: dict[tuple[str, str], uuid.UUID] = {}
        self._touched_workspaces: set[uuid.UUID] = set()
        bind = maker.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the sessionmaker must be bound to an AsyncEngine")
        self._engine = bind
        self._sync_engine: Engine | None = None
        self._chat_writer: SqliteInserter | None = None
        self._message_writer: SqliteInserter | None = None

    async def run(self, plans: Iterable[SourcePlan]) -> HarvestReport:
        started = asyncio.get_running_loop().time()
        report = HarvestReport()
        self._sync_engine = _sqlite_sync_engine(self._engine)
        if self._sync_engine is not None:
            self._chat_writer = SqliteInserter(self._sync_engine, chats_t, CHAT_COLUMNS)
            self._message_writer = SqliteInserter(self._sync_engine, messages_t, MESSAGE_COLUMNS)
        try:
            await self._load_workspaces()
            for plan in plans:
                counts = report.providers.setdefault(plan.source.name, ProviderCounts())
                await self._harvest_source(plan, counts, report.issues)
            await self._mark_workspaces()
        finally:
            if self._sync_engine is not None:
                self._sync_engine.dispose()
                self._sync_engine = None
                self._chat_writer = self._message_writer = None
        report.duration_ms = int((asyncio.get_running_loop().time() - started) * 1000)
        return report

    async def _load_workspaces(self) -> None:
        async with self.maker() as s:
            result = await s.execute(
                select(workspaces_t.c.id, workspaces_t.c.path, workspaces_t.c.provider).where(
                    workspaces_t.c.account_id == self.account_id
                )
            )
            self._workspaces = {(r.path, r.provider or ""): r.id for r in result}

    async def _harvest_source(
        self, plan: SourcePlan, counts: ProviderCounts, issues: list[HarvestIssue]
    ) -> None:
        source = plan.source
        provider = source.name
        roots = [r for r in plan.roots if r.exists()]
        try:
            units = await asyncio.to_thread(lambda: list(source.discover(roots))) if roots else []
        except Exception as exc:
            issues.append(HarvestIssue(provider, ", ".join(map(str, roots)), f"discovery failed: {exc}"))
            counts.errors += 1
            return
        if plan.unit_keys is not None:
            units = [u for u in units if u.key in plan.unit_keys]
        counts.units_seen = len(units)
        fingerprints = await self._write(lambda conn: self._fingerprints(conn, provider))
        changed: list[tuple[SourceUnit, str, int]] = []
        for unit in units:
            stat = _stat_fingerprint(unit.paths)
            if stat is None or fingerprints.get(unit.key) == (stat[0], False):
                counts.units_skipped += 1  # unchanged (or vanished since discovery): not read
                continue
            changed.append((unit, *stat))
        if plan.unit_keys is None:
            seen = {u.key for u in units}
            await self._flag_missing(
                provider,
                [
                    k
                    for k, (_, missing) in fingerprints.items()
                    if k not in seen and not missing and not k.startswith(UPLOAD_KEY_PREFIX)
                ],
            )
        if not changed:
            return
        known = await self._write(lambda conn: self._known(conn, provider, [u.key for u, _, _ in changed]))
        jobs = [
            _Job(unit, fp, size, self._resume_point(unit, size, fp, known.get(unit.key)), known.get(unit.key))
            for unit, fp, size in changed
        ]
        chats = await self._write(lambda conn: self._chat_ids(conn, provider))
        await self._parse_and_store(source, jobs, chats, counts, issues)
        await self._link_parents(provider)

    def _resume_point(
        self, unit: SourceUnit, size: int, fingerprint: str, previous: _Known | None
    ) -> Resume | None:
        if not unit.resumable or previous is None or previous.resume_offset is None or previous.missing:
            return None
        if size <= previous.size or previous.head_hash is None:
            return None
        if fingerprint.split("|")[1:] != previous.fingerprint.split("|")[1:]:
            return None  # a side file changed too: parse everything again
        if _head_hash(unit.paths[0], min(previous.size, HEAD_BYTES)) != previous.head_hash:
            return None  # rewritten, not appended
        return Resume(previous.resume_offset, dict(previous.resume_state or {}))

    def _fingerprints(self, conn: Connection, provider: str) -> dict[str, tuple[str, bool]]:
        """Every unit's fingerprint in one query: deciding that a unit is unchanged reads no file."""
        rows = conn.execute(
            select(files_t.c.unit_key, files_t.c.fingerprint, files_t.c.missing).where(
                files_t.c.account_id == self.account_id, files_t.c.provider == provider
            )
        )
        return {key: (fingerprint, bool(missing)) for key, fingerprint, missing in rows}

    def _known(self, conn: Connection, provider: str, keys: list[str]) -> dict[str, _Known]:
        known: dict[str, _Known] = {}
        for i in range(0, len(keys), CHUNK):
            rows = conn.execute(
                select(
                    files_t.c.unit_key,
                    files_t.c.fingerprint,
                    files_t.c.size,
                    files_t.c.head_hash,
                    files_t.c.resume_offset,
                    files_t.c.resume_state,
                    files_t.c.chat_source_ids,
                    files_t.c.missing,
                ).where(
                    files_t.c.account_id == self.account_id,
                    files_t.c.provider == provider,
                    files_t.c.unit_key.in_(keys[i : i + CHUNK]),
                )
            )
            for r in rows:
                known[r.unit_key] = _Known(
                    r.fingerprint,
                    r.size,
                    r.head_hash,
                    r.resume_offset,
                    r.resume_state,
                    list(r.chat_source_ids or []),
                    r.missing,
                )
        return known

    def _chat_ids(self, conn: Connection, provider: str) -> dict[str, uuid.UUID]:
        rows = conn.execute(
            select(chats_t.c.source_id, chats_t.c.id).where(
                chats_t.c.account_id == self.account_id, chats_t.c.provider == provider
            )
        )
        return {source_id: chat_id for source_id, chat_id in rows}

    async def _flag_missing(self, provider: str, keys: list[str]) -> None:
        gone = [k for k in keys if not Path(k).exists()]
        if not gone:
            return
        async with self.maker() as s, s.begin():
            for i in range(0, len(gone), CHUNK):
                part = gone[i : i + CHUNK]
                rows = await s.execute(
                    select(files_t.c.chat_source_ids).where(
                        files_t.c.account_id == self.account_id,
                        files_t.c.provider == provider,
                        files_t.c.unit_key.in_(part),
                    )
                )
                source_ids = [sid for r in rows for sid in (r.chat_source_ids or [])]
                await s.execute(
                    update(files_t)
                    .where(
                        files_t.c.account_id == self.account_id,
                        files_t.c.provider == provider,
                        files_t.c.unit_key.in_(part),
                    )
                    .values(missing=True)
                )
                for j in range(0, len(source_ids), CHUNK):
                    await s.execute(
                        update(chats_t)
                        .where(
                            chats_t.c.account_id == self.account_id,
                            chats_t.c.provider == provider,
                            chats_t.c.source_id.in_(source_ids[j : j + CHUNK]),
                        )
                        .values(source_missing=True)
                    )

    async def _parse_and_store(
        self,
        source: HarvestSource,
        jobs: list[_Job],
        chats: dict[str, uuid.UUID],
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> None:
        """Parse and store in batches, the next batch parsed while the last one is stored."""
        if self.workers > 1 and sum(j.size for j in jobs) >= PROCESS_POOL_MIN_BYTES:
            await self._parse_and_store_in_processes(source, jobs, chats, counts, issues)
            return
        # A thread parses ahead while a batch is stored: storing is mostly SQLite's own work, which
        # releases the GIL. Batches are handed over whole: no event-loop round trip per unit.
        ahead = _ParseAhead(source, jobs, THREAD_READ_AHEAD_BYTES)
        done = 0
        try:
            while True:
                batch = await asyncio.to_thread(ahead.take, BATCH_BYTES, BATCH_UNITS)
                if not batch:
                    break
                await self._store_batch(source.name, batch, chats, counts, issues)
                done += len(batch)
                if self.progress is not None:
                    self.progress(source.name, done, len(jobs))
        finally:
            ahead.stop()

    async def _parse_and_store_in_processes(
        self,
        source: HarvestSource,
        jobs: list[_Job],
        chats: dict[str, uuid.UUID],
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> None:
        loop = asyncio.get_running_loop()
        done = 0
        batch: list[tuple[_Job, ParseOutcome | None, str]] = []
        batch_bytes = 0
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            window = self.workers * IN_FLIGHT_PER_WORKER
            pending: dict[asyncio.Future[tuple[ParseOutcome | None, str]], _Job] = {}
            queue = iter(jobs)
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    job = next(queue, None)
                    if job is None:
                        exhausted = True
                        break
                    fut = loop.run_in_executor(pool, _parse_unit, source, job.unit, job.resume)
                    pending[fut] = job
                if pending:
                    finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for fut in finished:
                        job = pending.pop(fut)
                        batch.append((job, *fut.result()))
                        batch_bytes += job.size
                if batch and (not pending or batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_UNITS):
                    await self._store_batch(source.name, batch, chats, counts, issues)
                    done += len(batch)
                    batch, batch_bytes = [], 0
                    if self.progress is not None:
                        self.progress(source.name, done, len(jobs))
                if exhausted and not pending and not batch:
                    break

    def _accept(
        self,
        provider: str,
        job: _Job,
        outcome: ParseOutcome | None,
        error: str,
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> bool:
        """Report a unit's parse issues; True when its outcome is to be stored."""
        if outcome is None:
            issues.append(HarvestIssue(provider, _primary(job), f"could not be parsed: {error}"))
            counts.errors += 1
            return False
        for issue in outcome.issues:
            issues.append(HarvestIssue(provider, issue.path, issue.message, issue.line))
        counts.errors += len(outcome.issues)
        if not outcome.chats and outcome.issues and job.known is not None and job.resume is None:
            # A unit that now fails to parse keeps what it stored before, and is retried next time.
            return False
        counts.units_parsed += 1
        counts.bytes_parsed += job.size - (job.resume.offset if job.resume else 0)
        return True

    async def _store_batch(
        self,
        provider: str,
        batch: list[tuple[_Job, ParseOutcome | None, str]],
        chats: dict[str, uuid.UUID],
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> None:
        """Store several units in one transaction. First all together (new rows inserted in bulk at
        the end); should that fail, again each unit in its own savepoint: a unit that fails rolls
        back alone and the others are kept."""
        units = [
            (job, outcome)
            for job, outcome, error in batch
            if self._accept(provider, job, outcome, error, counts, issues) and outcome is not None
        ]
        if not units:
            return
        created: dict[str, uuid.UUID] = {}
        workspaces = dict(self._workspaces)

        def work(conn: Connection) -> list[tuple[_Job, int, int, str | None]]:
            if self._sync_engine is not None:
                # pysqlite opens no transaction before a SAVEPOINT, which would then commit alone.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            results: list[tuple[_Job, int, int, str | None]] = []
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
                    self._workspaces = dict(workspaces)
                    results = []
                else:
                    created.update(together)
                    return results
            for job, outcome in units:
                known_workspaces = len(self._workspaces)
                mine: dict[str, uuid.UUID] = {}
                try:
                    with conn.begin_nested():
                        updated, added = self._store_unit(conn, provider, job, outcome, chats, created, mine)
                except Exception as exc:
                    # Forget workspaces created in the rolled-back savepoint.
                    for key in list(self._workspaces)[known_workspaces:]:
                        del self._workspaces[key]
                    results.append((job, 0, 0, f"{type(exc).__name__}: {exc}"))
                    continue
                created.update(mine)
                results.append((job, updated, added, None))
            return results

        try:
            results = await self._write(work)
        except Exception as exc:
            # The batch's transaction rolled back: nothing of it is stored, the rest goes on.
            self._workspaces = workspaces
            for job, _ in units:
                issues.append(
                    HarvestIssue(provider, _primary(job), f"could not be stored: {type(exc).__name__}: {exc}")
                )
                counts.errors += 1
                counts.units_parsed -= 1
            return
        chats.update(created)
        counts.chats_created += len(created)
        for job, updated, added, error in results:
            if error is not None:
                issues.append(HarvestIssue(provider, _primary(job), f"could not be stored: {error}"))
                counts.errors += 1
                counts.units_parsed -= 1
                continue
            counts.chats_updated += updated
            counts.messages_added += added

    def _store_unit(
        self,
        conn: Connection,
        provider: str,
        job: _Job,
        outcome: ParseOutcome,
        chats: dict[str, uuid.UUID],
        created: dict[str, uuid.UUID],
        mine: dict[str, uuid.UUID],
        pending: _Pending | None = None,
    ) -> tuple[int, int]:
        """Store one unit's chats and its harvest file row. With `pending`, new rows wait there for
        `_flush` (which must run before anything else reads them)."""
        appending = job.resume is not None
        updated = added = 0
        for parsed in outcome.chats:
            sid = parsed.source_id
            chat_id = chats.get(sid) or created.get(sid) or mine.get(sid)
            if chat_id is None:
                chat_id, n = self._insert_chat(conn, provider, parsed, pending)
                mine[parsed.source_id] = chat_id
            else:
                if pending is not None:
                    self._flush(conn, pending)  # the chat may be one of the rows still pending
                if appending:
                    n = self._append_messages(conn, chat_id, parsed)
                else:
                    n = self._replace_messages(conn, chat_id, provider, parsed)
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
            if self._chat_writer is not None:
                self._chat_writer.insert(conn, [tuple(c[k] for k in CHAT_COLUMNS) for c in pending.chats])
            else:
                conn.execute(insert(chats_t), pending.chats)
        if pending.messages:
            self._insert_messages(conn, pending.messages)
        pending.files, pending.chats, pending.messages = [], [], []

    async def _write(self, work: Callable[[Connection], _T]) -> _T:
        """Run `work` in one transaction on a sync connection. On SQLite it runs in a thread on a
        plain sqlite3 connection, so its statements do not each hop to aiosqlite's thread."""
        if self._sync_engine is not None:
            sync_engine = self._sync_engine

            def run() -> _T:
                with sync_engine.begin() as conn:
                    return work(conn)

            return await asyncio.to_thread(run)
        async with self._engine.begin() as conn:
            return await conn.run_sync(work)

    def _message_rows(
        self, chat_id: uuid.UUID, messages: list[ParsedMessage], start: int, seen: set[str]
    ) -> MessageRows:
        # On SQLite the JSON columns are cleaned of NUL characters by the engine's serializer.
        return message_rows(chat_id, messages, start, seen, clean_json=self._message_writer is None)

    def _insert_messages(self, s: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self._message_writer is not None:
            self._message_writer.insert(s, rows)
        else:
            s.execute(insert(messages_t), as_dicts(rows))

    def _workspace_id(self, s: Connection, provider: str, parsed: ParsedChat) -> uuid.UUID | None:
        key = workspace_key(parsed)
        if key is None:
            return None
        path, name = _cut(key[0], 2000) or "", _cut(key[1], 500) or ""
        found = self._workspaces.get((path, provider))
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
            self._workspaces[(path, provider)] = found
        self._touched_workspaces.add(found)
        return found

    def _chat_values(self, parsed: ParsedChat, workspace_id: uuid.UUID | None) -> dict[str, Any]:
        values: dict[str, Any] = {
            "workspace_id": workspace_id,
            "source_path": _cut(parsed.source_path, 2000),
            "source_missing": False,
            "parent_source_id": _cut(parsed.parent_source_id, 300),
        }
        if parsed.title:
            values["title"] = _cut(parsed.title, 1000)
        if parsed.metadata:
            values["metadata"] = _clean(parsed.metadata)
        return values

    @staticmethod
    def _totals(parsed: ParsedChat, rows: MessageRows) -> dict[str, Any]:
        return {
            "message_count": len(rows.rows),
            "input_tokens": rows.input_tokens,
            "output_tokens": rows.output_tokens,
            "cache_read_tokens": rows.cache_read_tokens,
            "cache_write_tokens": rows.cache_write_tokens,
            "tool_call_count": rows.tool_calls,
            "started_at": _aware(parsed.created_at) or rows.first,
            "updated_at": _aware(parsed.updated_at) or rows.last or utcnow(),
            "model": _cut(parsed.model or rows.model, 200),
        }

    def _insert_chat(
        self, s: Connection, provider: str, parsed: ParsedChat, pending: _Pending | None = None
    ) -> tuple[uuid.UUID, int]:
        chat_id = uuid.uuid4()
        rows = self._message_rows(chat_id, parsed.messages, 0, set())
        values = self._chat_values(parsed, self._workspace_id(s, provider, parsed))
        values.setdefault("title", None)
        values.setdefault("metadata", None)
        row = {
            "id": chat_id,
            "account_id": self.account_id,
            "provider": provider,
            "source_id": _cut(parsed.source_id, 300),
            "tags": [],
            "archived": False,
            "created_at": _aware(parsed.created_at) or utcnow(),
            **self._totals(parsed, rows),
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

    def _replace_messages(self, s: Connection, chat_id: uuid.UUID, provider: str, parsed: ParsedChat) -> int:
        s.execute(delete(messages_t).where(messages_t.c.chat_id == chat_id))
        rows = self._message_rows(chat_id, parsed.messages, 0, set())
        if rows.rows:
            self._insert_messages(s, rows.rows)
        values = self._chat_values(parsed, self._workspace_id(s, provider, parsed))
        if "title" in values:
            values["title"] = _harvested_title(values["title"])
        s.execute(
            update(chats_t).where(chats_t.c.id == chat_id).values(**self._totals(parsed, rows), **values)
        )
        return len(rows.rows)

    def _append_messages(self, s: Connection, chat_id: uuid.UUID, parsed: ParsedChat) -> int:
        last_seq = (
            s.execute(select(func.max(messages_t.c.seq)).where(messages_t.c.chat_id == chat_id))
        ).scalar()
        candidates = [
            content_hash((m.role or "assistant")[:20], _clean(m.content or ""), _aware(m.timestamp))
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
            values["updated_at"] = _aware(parsed.updated_at) or rows.last
        if parsed.model or rows.model:
            values["model"] = _cut(parsed.model or rows.model, 200)
        if parsed.title:
            values["title"] = _harvested_title(_cut(parsed.title, 1000))
        s.execute(update(chats_t).where(chats_t.c.id == chat_id).values(**values))
        return len(rows.rows)

    def _save_file(
        self, s: Connection, provider: str, job: _Job, outcome: ParseOutcome, pending: _Pending | None = None
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
        head = _head_hash(job.unit.paths[0], min(job.size, HEAD_BYTES)) if job.unit.resumable else None
        values = {
            "fingerprint": job.fingerprint[:200],
            "size": job.size,
            "head_hash": head,
            "resume_offset": outcome.resume.offset if outcome.resume else None,
            "resume_state": _clean(outcome.resume.state) if outcome.resume else None,
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

    async def _link_parents(self, provider: str) -> None:
        parent = chats_t.alias("parent")
        parent_id = (
            select(parent.c.id)
            .where(
                parent.c.account_id == chats_t.c.account_id,
                parent.c.provider == chats_t.c.provider,
                parent.c.source_id == chats_t.c.parent_source_id,
            )
            .scalar_subquery()
        )
        async with self.maker() as s, s.begin():
            await s.execute(
                update(chats_t)
                .where(
                    chats_t.c.account_id == self.account_id,
                    chats_t.c.provider == provider,
                    chats_t.c.parent_source_id.is_not(None),
                    chats_t.c.parent_chat_id.is_(None),
                )
                .values(parent_chat_id=parent_id)
            )

    async def _mark_workspaces(self) -> None:
        touched = list(self._touched_workspaces)
        if not touched:
            return
        now = utcnow()
        async with self.maker() as s, s.begin():
            for i in range(0, len(touched), CHUNK):
                await s.execute(
                    update(workspaces_t)
                    .where(workspaces_t.c.id.in_(touched[i : i + CHUNK]))
                    .values(last_harvested=now, updated_at=now)
                )
