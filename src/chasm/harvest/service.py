"""Harvest use cases: run the engine for an account, report status, describe the sources."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.harvest import registry
from chasm.harvest import repository as repo
from chasm.harvest.engine import HarvestEngine, HarvestReport, ProgressFn, SourcePlan
from chasm.harvest.exceptions import HarvestFailed, UnknownProvider
from chasm.harvest.schemas import HarvestRequest
from chasm.kit.db import transaction
from chasm.kit.timeutil import aware

HARVEST_WAIT_S = 600.0  # how long POST /harvest waits for its job before answering `running`
_locks: dict[uuid.UUID, asyncio.Lock] = {}


def _lock(account_id: uuid.UUID) -> asyncio.Lock:
    """One harvest at a time per account: two would race on the same chats."""
    return _locks.setdefault(account_id, asyncio.Lock())


def build_plans(
    settings: Settings,
    data: dict[str, Any],
    providers: Iterable[str] | None = None,
    extra_roots: dict[str, list[str]] | None = None,
    include_disabled: bool = False,
) -> list[SourcePlan]:
    reg = registry.get_registry()
    wanted = list(providers) if providers else None
    if wanted:
        unknown = [p for p in wanted if p not in reg.sources]
        if unknown:
            raise UnknownProvider(f"Unknown provider(s): {', '.join(unknown)}")
    disabled = set() if include_disabled or wanted else registry.disabled_providers(data)
    plans = []
    for name, source in sorted(reg.sources.items()):
        if (wanted and name not in wanted) or name in disabled:
            continue
        configured = registry.configured_roots(data, name) + list((extra_roots or {}).get(name, []))
        roots = registry.roots_for(source, harvest_home=settings.harvest_home, configured=configured)
        plans.append(SourcePlan(source, roots))
    return plans


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
) -> HarvestReport:
    """Harvest the account's sources (all enabled, or those named) into the library."""
    async with maker() as session:
        data = await repo.settings_data(session, account_id)
        restrict = (
            await repo.units_of_workspaces(session, account_id, workspace_ids) if workspace_ids else None
        )
    plans = build_plans(settings, data, providers, extra_roots, include_disabled)
    if restrict is not None:
        plans = [p for p in plans if p.source.name in restrict]
        for plan in plans:
            plan.unit_keys = restrict[plan.source.name]
    engine = HarvestEngine(maker, account_id, workers=settings.harvest_workers, progress=progress)
    async with _lock(account_id):
        report = await engine.run(plans)
    async with maker() as session, session.begin():
        record(
            session,
            actor,
            "harvest.run",
            "harvest",
            None,
            summary=f"{report.chats_stored} chats, {report.messages_added} messages",
            metadata={"providers": list(report.providers), "errors": len(report.issues)},
            account_id=account_id,
        )
    return report


async def status(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """Last harvest per provider, from the harvest bookkeeping."""
    chats = await repo.chat_counts(session, actor.account_id)
    providers = {}
    for provider, units, last, missing in await repo.file_summary(session, actor.account_id):
        last_at = aware(last)
        providers[provider] = {
            "last_harvested": last_at.isoformat() if last_at else None,
            "units": units,
            "missing_units": int(missing or 0),
            "chat_count": chats.get(provider, 0),
        }
    last_overall = max((p["last_harvested"] for p in providers.values() if p["last_harvested"]), default=None)
    return {
        "last_harvested": last_overall,
        "providers": providers,
        "running": _lock(actor.account_id).locked(),
    }


def _provider_entry(
    name: str, source: Any, settings: Settings, data: dict[str, Any], chat_count: int
) -> dict[str, Any]:
    roots = registry.roots_for(
        source, harvest_home=settings.harvest_home, configured=registry.configured_roots(data, name)
    )
    found_paths = [str(r) for r in roots if r.exists()]
    return {
        "id": name,
        "name": source.display_name,
        "type": "harvest",
        "kind": "harvest",
        "source": name,
        "enabled": name not in registry.disabled_providers(data),
        "opt_in": bool(source.opt_in),
        "found": bool(found_paths),
        "paths": found_paths,
        "roots": [str(r) for r in roots],
        "chat_count": chat_count,
        "base_url": None,
        "models": [],
        "error": None,
    }


async def list_providers(session: AsyncSession, actor: Actor, settings: Settings) -> list[dict[str, Any]]:
    """Every harvest source with its detection status on this machine."""
    reg = registry.get_registry()
    data = await repo.settings_data(session, actor.account_id)
    counts = await repo.chat_counts(session, actor.account_id)
    entries = [
        await asyncio.to_thread(_provider_entry, name, source, settings, data, counts.get(name, 0))
        for name, source in sorted(reg.sources.items())
    ]
    for failed in reg.errors:
        entries.append(
            {
                "id": failed.name,
                "name": failed.name,
                "type": "harvest",
                "kind": "harvest",
                "source": failed.name,
                "enabled": False,
                "opt_in": False,
                "found": False,
                "paths": [],
                "roots": [],
                "chat_count": counts.get(failed.name, 0),
                "base_url": None,
                "models": [],
                "error": failed.message,
            }
        )
    return entries


async def get_provider(
    session: AsyncSession, actor: Actor, settings: Settings, provider_id: str
) -> dict[str, Any]:
    for entry in await list_providers(session, actor, settings):
        if entry["id"] == provider_id:
            return entry
    raise UnknownProvider(f"Provider '{provider_id}' not found", status_code=404, code="not_found")


def parse_root_options(values: Iterable[str]) -> dict[str, list[str]]:
    """`PROVIDER=PATH` pairs (the CLI's --root) into a mapping."""
    roots: dict[str, list[str]] = {}
    for value in values:
        provider, sep, path = value.partition("=")
        if not sep or not provider or not path:
            raise UnknownProvider(
                f"--root expects PROVIDER=PATH, got {value!r}", status_code=400, code="bad_root"
            )
        roots.setdefault(provider.strip(), []).append(str(Path(path).expanduser()))
    return roots


async def run_request(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor, body: HarvestRequest
) -> dict[str, Any]:
    """POST /harvest: enqueue a `harvest.run` job and wait for its result (up to a limit; past it,
    the answer holds the job id and status `running`, and the job goes on)."""
    from chasm.jobs import service as jobs

    build_plans(settings, {}, body.providers)  # unknown providers: 400 now, not a failed job
    async with transaction(maker) as session:
        job = await jobs.enqueue(
            session,
            account_id=actor.account_id,
            kind="harvest.run",
            input={
                "providers": body.providers,
                "workspace_ids": [str(w) for w in body.workspace_ids or []] or None,
                "include_disabled": body.all,
            },
            created_by=f"{actor.principal_type}:{actor.principal_id}",
        )
        job_id = job.id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HARVEST_WAIT_S
    delay = 0.05
    while True:
        async with maker() as session:
            found = await repo.job_state(session, job_id)
        status, result, error = found
        if status == "succeeded":
            return {"job_id": str(job_id), "status": status, **(result or {})}
        if status in ("failed", "canceled"):
            raise HarvestFailed(f"Harvest job {job_id} {status}: {error or 'no detail'}")
        if loop.time() >= deadline:
            return {"job_id": str(job_id), "status": status}
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
