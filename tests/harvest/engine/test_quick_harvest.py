"""An unchanged `chasm harvest` is answered without loading the store (`harvest.quick`, SQLite
only): the same report and audit event as the full harvest, and any change (an appended line, a
new or deleted file, the account's harvest settings) still goes the full way."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harvest_testsource import JsonlSource
from sqlalchemy import select
from typer.testing import CliRunner

from chasm.app import create_app
from chasm.auth import repository as auth_repo
from chasm.cli import harvest_quick
from chasm.cli.app import app
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings
from chasm.harvest import quick, service
from chasm.kit.db import create_engine, make_sessionmaker
from chasm.models import AuditEvent, Chat, ChatSettings


def _line(content: str) -> str:
    return json.dumps({"role": "user", "content": content, "cwd": "/w/quick"}) + "\n"


@pytest.fixture
def library(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The CLI on the test's database; yields the log of which way each harvest went."""
    for key, value in (
        ("CHASM_DATA_DIR", str(settings.data_dir)),
        ("CHASM_DATABASE_URL", settings.effective_database_url),
        ("CHASM_DATABASE_SCHEMA", settings.database_schema or ""),
        ("CHASM_HARVEST_HOME", str(settings.harvest_home)),
        ("CHASM_SECRET_KEY", settings.secret_key or ""),
    ):
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    application = create_app(settings)

    async def bootstrap() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            async with application.router.lifespan_context(application):
                pass

    asyncio.run(bootstrap())
    ways: list[str] = []
    full, answer = service.harvest, quick.unchanged_report

    async def full_way(*args: Any, **kwargs: Any) -> Any:
        ways.append("full")
        return await full(*args, **kwargs)

    def quick_way(*args: Any, **kwargs: Any) -> Any:
        report = answer(*args, **kwargs)
        if report is not None:
            ways.append("quick")
        return report

    monkeypatch.setattr(service, "harvest", full_way)
    monkeypatch.setattr(quick, "unchanged_report", quick_way)
    try:
        yield ways
    finally:
        get_settings.cache_clear()


def _harvest(*args: str) -> dict[str, Any]:
    done = CliRunner().invoke(cli, ["harvest", "-p", "testlog", *args, "--json"])
    assert done.exit_code == 0, done.output
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "duration_ms"}


def _run(settings: Settings, work: Any) -> Any:
    async def go() -> Any:
        engine = create_engine(settings.effective_database_url, settings.database_schema)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_unchanged_harvest_reports_and_audits_as_the_full_one(
    settings: Settings, source: JsonlSource, home: Path, library: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b"):
        (home / ".testlog" / f"{name}.jsonl").write_text(_line(f"hello {name}"))
    first = _harvest()
    assert first["providers"]["testlog"]["chats_created"] == 2
    quick_report = _harvest()
    with monkeypatch.context() as m:
        m.setattr(quick, "unchanged_report", lambda *a, **k: None)
        full_report = _harvest()
    assert _counts(quick_report) == _counts(full_report)
    assert quick_report["providers"]["testlog"] == {
        "units_seen": 2,
        "units_parsed": 0,
        "units_skipped": 2,
        "chats_created": 0,
        "chats_updated": 0,
        "messages_added": 0,
        "errors": 0,
        "bytes_parsed": 0,
    }
    assert library == ["full", "quick" if settings.is_sqlite else "full", "full"]
    assert not source.parsed[2:]  # neither way read a file

    async def events(db: Any) -> list[AuditEvent]:
        rows = await db.execute(select(AuditEvent).where(AuditEvent.action == "harvest.run"))
        return sorted(rows.scalars(), key=lambda e: e.created_at)

    first_event, quick_event, full_event = _run(settings, events)
    for event in (first_event, quick_event):
        assert (event.account_id, event.actor_type, event.actor_id, event.resource_type, event.status) == (
            full_event.account_id,
            full_event.actor_type,
            full_event.actor_id,
            full_event.resource_type,
            full_event.status,
        )
    assert (quick_event.summary, quick_event.meta) == (full_event.summary, full_event.meta)
    assert quick_event.meta == {"providers": ["testlog"], "errors": 0}
    assert abs(quick_event.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_any_change_still_harvests(
    settings: Settings, source: JsonlSource, home: Path, library: list[str]
) -> None:
    logs = home / ".testlog"
    (logs / "a.jsonl").write_text(_line("one"))
    (logs / "b.jsonl").write_text(_line("two"))
    _harvest()
    with (logs / "a.jsonl").open("a") as fh:
        fh.write(_line("appended"))
    assert _harvest()["providers"]["testlog"]["messages_added"] == 1
    (logs / "c.jsonl").write_text(_line("new"))
    assert _harvest()["providers"]["testlog"]["chats_created"] == 1
    (logs / "b.jsonl").unlink()
    assert _harvest()["providers"]["testlog"]["units_seen"] == 2

    async def missing(db: Any) -> dict[str, bool]:
        rows = await db.execute(select(Chat.source_id, Chat.source_missing).where(Chat.provider == "testlog"))
        return {source_id: bool(flag) for source_id, flag in rows}

    assert _run(settings, missing) == {"a": False, "b": True, "c": False}
    # A folder added to the account's harvest settings, then the source disabled there.
    extra = home / "more-logs"
    extra.mkdir()
    (extra / "d.jsonl").write_text(_line("from a configured folder"))

    def configure(data: dict[str, Any]) -> None:
        async def write(db: Any) -> None:
            owner = await auth_repo.first_owner(db)
            account = await auth_repo.personal_account(db, owner.id)
            found = await db.get(ChatSettings, account.id)
            if found is None:
                db.add(ChatSettings(account_id=account.id, data=data))
            else:
                found.data = data

        _run(settings, write)

    configure({"harvest": {"roots": {"testlog": [str(extra)]}}})
    assert _harvest()["providers"]["testlog"]["chats_created"] == 1
    again = _harvest()
    assert again["providers"]["testlog"]["units_skipped"] == again["providers"]["testlog"]["units_seen"] == 3
    configure({"harvest": {"disabled": ["testlog"]}})
    everything = CliRunner().invoke(cli, ["harvest", "--json"])
    assert everything.exit_code == 0, everything.output
    assert "testlog" not in json.loads(everything.stdout)["providers"]
    quick_ways = ["quick", "quick"] if settings.is_sqlite else ["full", "full"]
    assert library == ["full", "full", "full", "full", "full", *quick_ways]


def test_the_quick_options_are_the_commands() -> None:
    """The options the quick path reads are the command's own (names and meaning)."""
    command = next(c for c in app.registered_commands if c.name == "harvest")
    assert command.callback is not None
    declared: set[str] = set()
    for parameter in inspect.signature(command.callback).parameters.values():
        declared.update(d for d in parameter.default.param_decls if d.startswith("-"))
    assert set(harvest_quick.OPTIONS) <= declared
    parse = harvest_quick.parse
    assert parse(["-p", "codex", "--provider=claude-code", "-pcline", "--root", "codex=/x", "--json"]) == (
        harvest_quick.QuickArgs(["codex", "claude-code", "cline"], ["codex=/x"], None, False, True)
    )
    for refused in (["--help"], ["--remote", "http://x"], ["--watch"], ["-p"], ["-p", "--json"], ["stray"]):
        assert parse(refused) is None
