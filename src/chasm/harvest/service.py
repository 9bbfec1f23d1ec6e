"""Harvest use cases: run the engine for an account, report status, describe the sources."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.auth.actor import Actor, require_instance_admin
from chasm.config import Settings
from chasm.harvest import provider_names, registry, upload
from chasm.harvest import repository as repo
from chasm.harvest.engine import HarvestEngine, HarvestReport, ProgressFn, StoredFn
from chasm.harvest.exceptions import HarvestFailed, UnknownProvider
from chasm.harvest.report import build_plans
from chasm.harvest.schemas import HarvestRequest, HarvestResult, HarvestStatus, ProviderRead
from chasm.kit.db import transaction
from chasm.kit.timeutil import aware
from chasm.secrets import service as secrets

HOST_HARVEST = (
    "harvest the server's own folders; send your transcript files to POST /api/v1/harvest/upload "
    "instead (`chasm harvest --remote URL` does it for a whole machine)"
)
HARVEST_WAIT_S = 600.0  # how long POST /harvest waits for its job before answering `running`
_locks: dict[uuid.UUID, asyncio.Lock] = {}


def _lock(account_id: uuid.UUID) -> asyncio.Lock:
    """One harvest at a time per account: two would race on the same chats."""
    return _locks.setdefault(account_id, asyncio.Lock())


def _noting(written: set[uuid.UUID], stored: StoredFn | None) -> StoredFn:
    """The engine's after-batch callback: notes the chats written (to redact them when the account
    redacts its library, `secrets.service.redact_harvested`), then calls `stored` if any."""

    async def note(provider: str, chats: list[tuple[uuid.UUID, bool, int]]) -> None:
        written.update(chat_id for chat_id, _, _ in chats)
        if stored is not None:
            await stored(provider, chats)

    return note


async def harvest(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    account_id: uuid.UUID,
    *,
    actor: Actor | None = None,
    providers: list[str] | None = None,
    workspace_ids: list[uuid.UUID] | None = None,
    include_disabled: bool = False,
    extra_roots: dict[str, list[str]] | None = None,
    progress: ProgressFn | None = None,
    stored: StoredFn | None = None,
) -> HarvestReport:
    """Harvest the account's sources (all enabled, or those named) into the library."""
    async with maker() as db:
        data = await repo.settings_data(db, account_id)
        restrict = await repo.units_of_workspaces(db, account_id, workspace_ids) if workspace_ids else None
    plans = build_plans(settings, data, providers, extra_roots, include_disabled)
    if restrict is not None:
        plans = [p for p in plans if p.source.name in restrict]
        for plan in plans:
            plan.unit_keys = restrict[plan.source.name]
    written: set[uuid.UUID] = set()
    engine = HarvestEngine(
        maker,
        account_id,
        workers=settings.harvest_workers,
        progress=progress,
        stored=_noting(written, stored),
    )
    async with _lock(account_id):
        report = await engine.run(plans)
    async with maker() as db, db.begin():
        await secrets.redact_harvested(db, account_id, written)
        record(
            db,
            actor,
            "harvest.run",
            "harvest",
            None,
            summary=f"{report.chats_stored} chats, {report.messages_added} messages",
            metadata={"providers": list(report.providers), "errors": len(report.issues)},
            account_id=account_id,
        )
    return report


async def status(db: AsyncSession, actor: Actor) -> HarvestStatus:
    """Last harvest per provider, from the harvest bookkeeping."""
    chats = await repo.chat_counts(db, actor.account_id)
    providers = {}
    for provider, units, last, missing in await repo.file_summary(db, actor.account_id):
        last_at = aware(last)
        providers[provider] = {
            "last_harvested": last_at.isoformat() if last_at else None,
            "units": units,
            "missing_units": int(missing or 0),
            "chat_count": chats.get(provider, 0),
        }
    last_overall = max((p["last_harvested"] for p in providers.values() if p["last_harvested"]), default=None)
    return HarvestStatus.model_validate(
        {"last_harvested": last_overall, "providers": providers, "running": _lock(actor.account_id).locked()}
    )


def _provider_entry(
    name: str, source: Any, settings: Settings, data: dict[str, Any], chat_count: int, admin: bool
) -> ProviderRead:
    """A source's entry; its folders on the server (and whether they exist) only for an instance
    administrator: for anyone else the server's filesystem is not theirs to see."""
    if admin:
        roots = registry.roots_for(
            source, harvest_home=settings.harvest_home, configured=registry.configured_roots(data, name)
        )
        found_paths = [str(r) for r in roots if r.exists()]
    else:
        roots, found_paths = [], []
    return ProviderRead(
        id=name,
        name=source.display_name,
        type=provider_names.spec001_type(name),  # type: ignore[arg-type]
        source=name,
        enabled=name not in registry.disabled_providers(data),
        opt_in=bool(source.opt_in),
        found=bool(found_paths),
        paths=found_paths,
        roots=[str(r) for r in roots],
        chat_count=chat_count,
    )


async def list_providers(db: AsyncSession, actor: Actor, settings: Settings) -> list[ProviderRead]:
    """Every harvest source with its detection status on this machine."""
    reg = registry.get_registry()
    data = await repo.settings_data(db, actor.account_id)
    counts = await repo.chat_counts(db, actor.account_id)
    admin = actor.instance_admin
    entries = [
        await asyncio.to_thread(_provider_entry, name, source, settings, data, counts.get(name, 0), admin)
        for name, source in sorted(reg.sources.items())
    ]
    for failed in reg.errors:
        entries.append(
            ProviderRead(
                id=failed.name,
                name=failed.name,
                type=provider_names.spec001_type(failed.name),  # type: ignore[arg-type]
                source=failed.name,
                enabled=False,
                opt_in=False,
                found=False,
                paths=[],
                roots=[],
                chat_count=counts.get(failed.name, 0),
                error=failed.message,
            )
        )
    return entries


async def get_provider(db: AsyncSession, actor: Actor, settings: Settings, provider_id: str) -> ProviderRead:
    for entry in await list_providers(db, actor, settings):
        if entry.id == provider_id:
            return entry
    raise UnknownProvider(f"Provider '{provider_id}' not found", status_code=404, code="not_found")


async def run_request(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor, body: HarvestRequest
) -> HarvestResult:
    """POST /harvest: enqueue a `harvest.run` job and wait for its result (up to a limit; past it,
    the answer holds the job id and status `running`, and the job goes on)."""
    from chasm.jobs import service as jobs

    require_instance_admin(actor, HOST_HARVEST)
    # 001 names (copilot, claude, ...) stand for their sources; unknown ones: 400 now, not a failed job
    providers = provider_names.harvest_sources(body.providers) if body.providers else None
    if body.providers and not providers:
        return HarvestResult()  # only names no harvest source reads (ollama, lm-studio, custom)
    async with transaction(maker) as db:
        job = await jobs.enqueue(
            db,
            account_id=actor.account_id,
            kind="harvest.run",
            input={
                "providers": providers,
                "workspace_ids": [str(w) for w in body.workspace_ids or []] or None,
                "include_disabled": body.all,
            },
            created_by=jobs.principal_of(actor),
        )
        job_id = job.id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HARVEST_WAIT_S
    delay = 0.05
    while True:
        async with maker() as db:
            found = await repo.job_state(db, job_id)
        status, result, error = found
        if status == "succeeded":
            return HarvestResult.from_job(job_id, status, result)
        if status in ("failed", "canceled"):
            raise HarvestFailed(f"Harvest job {job_id} {status}: {error or 'no detail'}")
        if loop.time() >= deadline:
            return HarvestResult.from_job(job_id, status, None)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


def _upload_roots(root: Path, source: str | None, known: dict[str, Any]) -> dict[str, Path]:
    """Where each uploaded source's files lie: all under `source` when one is named, else under
    top-level folders named after sources (the layout `chasm harvest --remote` sends)."""
    if source is not None:
        return {source: root / source}
    roots: dict[str, Path] = {}
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name not in known:
            raise upload.InvalidUpload(
                f"Cannot tell which tool wrote {entry.name!r}: name the source (form field `source`) "
                "or put each tool's files in a folder named after it"
            )
        roots[entry.name] = entry
    return roots


async def harvest_upload(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    actor: Actor,
    files: Sequence[tuple[str, IO[bytes]]],
    source: str | None,
    stored: StoredFn | None = None,
) -> HarvestResult:
    """POST /harvest/upload: parse uploaded transcripts (files or archives) with the harvest
    sources into the caller's account; nothing but the upload is read."""
    known = registry.get_registry().sources
    if source is not None and source not in known:
        covered = provider_names.harvest_sources([source])  # a 001 name, e.g. cursor
        if len(covered) != 1:
            raise UnknownProvider(
                f"Provider '{source}' covers {len(covered)} harvest sources; name one of: "
                + ", ".join(covered or sorted(known))
            )
        source = covered[0]
    if not files:
        raise upload.InvalidUpload("No file uploaded (multipart field `files`)")
    root = await asyncio.to_thread(upload.private_dir, settings.data_dir)
    try:
        budget = upload.Budget(settings.harvest_upload_max_bytes)
        target = root / source if source is not None else root
        target.mkdir(exist_ok=True, mode=0o700)
        for filename, data in files:
            await asyncio.to_thread(upload.unpack, target, filename, data, budget)
        roots = await asyncio.to_thread(_upload_roots, root, source, known)
        plans = await asyncio.to_thread(upload.plans_for, {n: known[n] for n in roots}, roots)
        written: set[uuid.UUID] = set()
        engine = HarvestEngine(maker, actor.account_id, stored=_noting(written, stored))
        async with _lock(actor.account_id):
            report = await engine.run(plans)
    finally:
        await asyncio.to_thread(upload.remove, root)
    prefix = f"{root}/"
    for issue in report.issues:
        issue.path = issue.path.removeprefix(prefix)
    async with maker() as db, db.begin():
        await secrets.redact_harvested(db, actor.account_id, written)
        record(
            db,
            actor,
            "harvest.upload",
            "harvest",
            None,
            summary=f"{report.chats_stored} chats, {report.messages_added} messages",
            metadata={"providers": list(report.providers), "files": len(files), "errors": len(report.issues)},
            account_id=actor.account_id,
        )
    return HarvestResult.of(report)
