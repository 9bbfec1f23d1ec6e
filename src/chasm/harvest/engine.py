"""The harvest engine: turns every unit of every source into stored chats, incrementally.

For each unit the engine compares a fingerprint of its files (size and mtime of each) with the one
stored in `harvest_files`: unchanged units are not read at all; an append-only log that only grew
is parsed from where it was left and its new messages are appended; anything else is parsed again
and its chats' messages replaced. Parsing (`parsing`) runs ahead in a thread or in parser
processes, which also make the parsed chats into rows (`prepare`); storing (`store`) takes one
transaction per batch of units, and a unit that cannot be stored rolls back alone, so a failure
never leaves a half-stored chat and never touches what other units stored.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.harvest.parsing import Parsed, parsed_batches
from chasm.harvest.prepare import Outcome, PreparedChat
from chasm.harvest.report import (
    HarvestIssue,
    HarvestReport,
    ProviderCounts,
    SourcePlan,
    changed_units,
    unseen_keys,
)
from chasm.harvest.store import HarvestStore
from chasm.harvest.units import Job, resume_point

# (provider, units done, units to parse)
ProgressFn = Callable[[str, int, int], None]
# After each stored batch: (provider, [(chat id, created, messages parsed)]); for live updates.
StoredFn = Callable[[str, list[tuple[uuid.UUID, bool, int]]], Awaitable[None]]


def default_workers() -> int:
    """Parser processes when the settings leave it open: one per CPU this process may run on, at
    most 4 (beyond that the store, not parsing, sets the pace)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cpus))


@dataclass
class _Planned:
    """A source's part of a harvest: its changed units, and the ids of its chats stored so far."""

    provider: str
    counts: ProviderCounts
    jobs: list[Job]
    chats: dict[str, uuid.UUID]
    done: int = 0


class HarvestEngine:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        account_id: uuid.UUID,
        *,
        workers: int = 1,
        progress: ProgressFn | None = None,
        stored: StoredFn | None = None,
    ) -> None:
        self.store = HarvestStore(maker, account_id)
        self.workers = workers if workers > 0 else default_workers()
        self.progress = progress
        self.stored = stored

    async def run(self, plans: Iterable[SourcePlan]) -> HarvestReport:
        started = asyncio.get_running_loop().time()
        report = HarvestReport()
        try:
            await self.store.open()
            planned: list[_Planned] = []
            for plan in plans:
                counts = report.providers.setdefault(plan.source.name, ProviderCounts())
                found = await self._plan_source(plan, counts, report.issues)
                if found is not None:
                    planned.append(found)
            if planned:
                await self._parse_and_store(planned, report.issues)
            await self.store.mark_workspaces()
        finally:
            self.store.close()
        report.duration_ms = int((asyncio.get_running_loop().time() - started) * 1000)
        return report

    async def _plan_source(
        self, plan: SourcePlan, counts: ProviderCounts, issues: list[HarvestIssue]
    ) -> _Planned | None:
        """The source's changed units as jobs (and its missing units flagged); None when none changed."""
        source = plan.source
        provider = source.name
        roots = [r for r in plan.roots if r.exists()]
        try:
            units = await asyncio.to_thread(lambda: list(source.discover(roots))) if roots else []
        except Exception as exc:
            issues.append(HarvestIssue(provider, ", ".join(map(str, roots)), f"discovery failed: {exc}"))
            counts.errors += 1
            return None
        if plan.unit_keys is not None:
            units = [u for u in units if u.key in plan.unit_keys]
        counts.units_seen = len(units)
        fingerprints = await self.store.fingerprints(provider)
        changed = changed_units(units, fingerprints)
        counts.units_skipped += len(units) - len(changed)  # unchanged (or vanished since discovery)
        if plan.unit_keys is None:
            await self.store.flag_missing(provider, unseen_keys(fingerprints, units))
        if not changed:
            return None
        known = await self.store.stored_units(provider, [u.key for u, _, _ in changed])
        jobs = []
        for unit, fp, size in changed:
            previous = known.get(unit.key)
            jobs.append(Job(source, unit, fp, size, resume_point(unit, size, fp, previous), previous))
        return _Planned(provider, counts, jobs, await self.store.chat_ids(provider))

    async def _parse_and_store(self, planned: list[_Planned], issues: list[HarvestIssue]) -> None:
        """Every source's jobs through one parsing pipeline (the next source is parsed while the
        last batch of one is stored), each batch stored per source."""
        by_provider = {p.provider: p for p in planned}
        jobs = [job for p in planned for job in p.jobs]
        async with aclosing(parsed_batches(jobs, self.workers, encode=self.store.sqlite)) as batches:
            async for batch in batches:
                groups: dict[str, list[Parsed]] = {}
                for item in batch:
                    groups.setdefault(item[0].source.name, []).append(item)
                for provider, group in groups.items():
                    p = by_provider[provider]
                    await self._store_batch(provider, group, p.chats, p.counts, issues)
                    p.done += len(group)
                    if self.progress is not None:
                        self.progress(provider, p.done, len(p.jobs))
        for p in planned:
            await self.store.link_parents(p.provider)

    def _accept(
        self,
        provider: str,
        job: Job,
        outcome: Outcome,
        failed: bool,
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> bool:
        """Report a unit's parse issues; True when its outcome is to be stored."""
        for issue in outcome.issues:
            issues.append(HarvestIssue(provider, issue.path, issue.message, issue.line))
        counts.errors += len(outcome.issues)
        if failed:
            return False
        if not outcome.chats and outcome.issues and job.known is not None and job.resume is None:
            # A unit that now fails to parse keeps what it stored before, and is retried next time.
            return False
        counts.units_parsed += 1
        counts.bytes_parsed += job.size - (job.resume.offset if job.resume else 0)
        return True

    async def _store_batch(
        self,
        provider: str,
        batch: list[Parsed],
        chats: dict[str, uuid.UUID],
        counts: ProviderCounts,
        issues: list[HarvestIssue],
    ) -> None:
        """Store a batch of parsed units and count what it did."""
        units = [
            (job, outcome)
            for job, outcome, failed in batch
            if self._accept(provider, job, outcome, failed, counts, issues)
        ]
        if not units:
            return
        try:
            results, created = await self.store.store_units(provider, units, chats)
        except Exception as exc:
            # The batch's transaction rolled back: nothing of it is stored, the rest goes on.
            for job, _ in units:
                issues.append(
                    HarvestIssue(
                        provider, job.primary_path, f"could not be stored: {type(exc).__name__}: {exc}"
                    )
                )
                counts.errors += 1
                counts.units_parsed -= 1
            return
        chats.update(created)
        counts.chats_created += len(created)
        if self.stored is not None:
            new = set(created)
            outcomes = {id(job): outcome for job, outcome in units}
            touched = [
                (
                    chats[c.source_id],
                    c.source_id in new,
                    c.message_count if isinstance(c, PreparedChat) else len(c.messages),
                )
                for job, _, _, error in results
                if error is None
                for c in outcomes[id(job)].chats
                if c.source_id in chats
            ]
            if touched:
                await self.stored(provider, touched)
        for job, updated, added, error in results:
            if error is not None:
                issues.append(HarvestIssue(provider, job.primary_path, f"could not be stored: {error}"))
                counts.errors += 1
                counts.units_parsed -= 1
                continue
            counts.chats_updated += updated
            counts.messages_added += added
