"""`chasm harvest` when nothing changed, in a few milliseconds of work and without SQLAlchemy.

The harvest of an unchanged machine reads no transcript: it lists the units, compares the size and
mtime of their files with `harvest_files` and records the run in the audit log. Loading the whole
store (SQLAlchemy, every model, pydantic-settings) for that costs several times the work itself.
So before doing so, the command asks `unchanged_report`, which decides as the engine does (the
sources' own discovery, `report.build_plans`, `report.changed_units` and `unseen_keys`) against
the SQLite library through the standard library's sqlite3. Only when the harvest would store
nothing does it answer: the report the engine would give and the same audit event. Anything else
(a changed, new or vanished file, another database than SQLite, a schema to migrate, no local
owner yet, an account named by the caller) answers None, and the command takes the full way.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chasm.harvest.report import HarvestReport, ProviderCounts, build_plans, changed_units, unseen_keys
from chasm.kit import settings_peek
from chasm.kit.migration_heads import migration_heads

BUSY_TIMEOUT_MS = 10_000  # as kit.db's connections: a running harvest may hold the write lock
# SQLAlchemy's forms on SQLite: a uuid as 32 hex digits, a datetime as naive UTC text.
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class _Settings:
    """What the quick path needs of the settings."""

    def __init__(self, data_dir: Path, database_url: str | None, harvest_home: Path | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.harvest_home = harvest_home


def _settings() -> _Settings | None:
    """The settings Settings would load; from Settings itself when this process has it already
    (a test that set its own), else read without pydantic."""
    config = sys.modules.get("chasm.config")
    if config is not None:
        loaded = config.get_settings()
        return _Settings(loaded.data_dir, loaded.database_url, loaded.harvest_home)
    found = settings_peek.peek(("data_dir", "database_url", "harvest_home"))
    if found is None:
        return None
    data_dir = Path(found["data_dir"]) if "data_dir" in found else settings_peek.default_data_dir()
    home = Path(found["harvest_home"]) if "harvest_home" in found else None
    return _Settings(data_dir, found.get("database_url"), home)


def library_file() -> str | None:
    """The SQLite file of the library; None for another database (or settings only pydantic reads)."""
    settings = _settings()
    if settings is None:
        return None
    return settings_peek.sqlite_file(
        settings_peek.effective_database_url(settings.database_url, settings.data_dir)
    )


def unchanged_report(
    providers: list[str] | None,
    extra_roots: dict[str, list[str]],
    include_disabled: bool,
    account: str | None,
) -> HarvestReport | None:
    """The report of a harvest that finds nothing to store, with its audit event recorded; None
    when the harvest has anything to do or this cannot tell (then harvest the full way)."""
    if account is not None and account.strip().lower() != "personal":
        return None
    settings = _settings()
    if settings is None:
        return None
    path = settings_peek.sqlite_file(
        settings_peek.effective_database_url(settings.database_url, settings.data_dir)
    )
    if path is None or not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        return None
    try:
        return _check(conn, settings, providers, extra_roots, include_disabled)
    except sqlite3.Error:  # locked past the timeout, an unexpected schema: the full way says why
        return None
    finally:
        conn.close()


def _check(
    conn: sqlite3.Connection,
    settings: _Settings,
    providers: list[str] | None,
    extra_roots: dict[str, list[str]],
    include_disabled: bool,
) -> HarvestReport | None:
    for pragma in (f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")  # kit.db.sqlite_pragmas' (WAL is the file's own already)
    current = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    if current != migration_heads():
        return None
    owner = conn.execute("SELECT id FROM users ORDER BY created_at LIMIT 1").fetchone()
    if owner is None:
        return None
    account = conn.execute("SELECT id FROM accounts WHERE personal_user_id = ?", (owner[0],)).fetchone()
    if account is None:
        return None
    account_id: str = account[0]
    row = conn.execute("SELECT data FROM chat_settings WHERE account_id = ?", (account_id,)).fetchone()
    data = json.loads(row[0]) if row is not None and row[0] else None
    try:
        plans = build_plans(settings, dict(data or {}), providers, extra_roots, include_disabled)
    except Exception:  # noqa: BLE001 - an unknown provider: the full way reports it
        return None
    started = time.monotonic()
    report = HarvestReport()
    for plan in plans:
        counts = report.providers.setdefault(plan.source.name, ProviderCounts())
        roots = [r for r in plan.roots if r.exists()]
        try:
            units = list(plan.source.discover(roots)) if roots else []
        except Exception:  # noqa: BLE001 - the full way reports a failed discovery
            return None
        stored = {
            key: (fingerprint, bool(missing))
            for key, fingerprint, missing in conn.execute(
                "SELECT unit_key, fingerprint, missing FROM harvest_files"
                " WHERE account_id = ? AND provider = ?",
                (account_id, plan.source.name),
            )
        }
        if changed_units(units, stored):
            return None  # new or changed: to parse
        if any(not Path(key).exists() for key in unseen_keys(stored, units)):
            return None  # files gone: their chats are to be flagged missing
        counts.units_seen = counts.units_skipped = len(units)
    report.duration_ms = int((time.monotonic() - started) * 1000)
    _audit(conn, owner[0], account_id, report)
    return report


def _audit(conn: sqlite3.Connection, owner_id: str, account_id: str, report: HarvestReport) -> None:
    """The event `harvest.service.harvest` records for a run, as SQLAlchemy would have written it."""
    metadata: dict[str, Any] = {"providers": list(report.providers), "errors": len(report.issues)}
    with conn:
        conn.execute(
            "INSERT INTO audit_events (id, account_id, actor_type, actor_id, action, resource_type,"
            " resource_id, status, summary, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                uuid.uuid4().hex,
                account_id,
                "user",
                str(uuid.UUID(owner_id)),
                "harvest.run",
                "harvest",
                None,
                "success",
                f"{report.chats_stored} chats, {report.messages_added} messages",
                json.dumps(metadata),
                datetime.now(UTC).strftime(_DATETIME_FORMAT),
            ),
        )
