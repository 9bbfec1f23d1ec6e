"""Watch mode: the coding tools' transcript folders followed as they grow (`watchfiles`, inotify
on Linux), each change harvested at once with the harvest's incremental machinery: a unit whose
fingerprint is unchanged is not read, a grown transcript is parsed from where the last harvest
stopped (appended bytes only). Used by `chasm harvest --watch` and, for instance administrators
whose chat settings say `auto_harvest`, by the server (chasm.watch.lifecycle)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from watchfiles import awatch

from chasm.config import Settings
from chasm.harvest import repository as harvest_repo
from chasm.harvest import service as harvest_service
from chasm.harvest.engine import HarvestEngine, HarvestReport, SourcePlan
from chasm.harvest.report import build_plans
from chasm.kit.events import EventBus
from chasm.realtime import topics

log = logging.getLogger("chasm.watch")
ReportFn = Callable[[HarvestReport], None]


class Watcher:
    """Follows one account's harvest roots until `stop` is set. `interval_s`: a full harvest that
    often besides (the fallback schedule: changes a watch cannot see, roots created later)."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        account_id: uuid.UUID,
        *,
        bus: EventBus | None = None,
        providers: list[str] | None = None,
        extra_roots: dict[str, list[str]] | None = None,
        include_disabled: bool = False,
        interval_s: float | None = None,
        debounce_ms: int = 30,
        on_report: ReportFn | None = None,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.account_id = account_id
        self.bus = bus
        self.providers = providers
        self.extra_roots = extra_roots
        self.include_disabled = include_disabled
        self.interval_s = interval_s
        self.debounce_ms = debounce_ms
        self.on_report = on_report
        self.plans: list[SourcePlan] = []
        self.ready = asyncio.Event()  # set once the first harvest is done and the watch is on

    async def _plans(self) -> list[SourcePlan]:
        async with self.maker() as db:
            data = await harvest_repo.settings_data(db, self.account_id)
        return build_plans(self.settings, data, self.providers, self.extra_roots, self.include_disabled)

    async def harvest(self, plans: list[SourcePlan]) -> HarvestReport:
        stored = topics.harvest_notifier(self.bus, self.maker, self.account_id, source="watch")
        engine = HarvestEngine(self.maker, self.account_id, workers=1, stored=stored)
        async with harvest_service._lock(self.account_id):
            report = await engine.run(plans)
        if self.on_report is not None and (report.chats_stored or report.messages_added or report.issues):
            self.on_report(report)
        return report

    def roots(self) -> dict[Path, list[SourcePlan]]:
        found: dict[Path, list[SourcePlan]] = {}
        for plan in self.plans:
            for root in plan.roots:
                if root.is_dir():
                    found.setdefault(root.resolve(), []).append(plan)
        return found

    async def run(self, stop: asyncio.Event) -> None:
        self.plans = await self._plans()
        await self.harvest(self.plans)
        ticker = asyncio.create_task(self._tick(stop)) if self.interval_s else None
        try:
            while not stop.is_set():
                roots = self.roots()
                if not roots:  # nothing to watch yet: wait for the schedule (or the stop)
                    self.ready.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.interval_s or 60)
                    self.plans = await self._plans()
                    continue
                await self._watch(roots, stop)
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker

    async def _watch(self, roots: dict[Path, list[SourcePlan]], stop: asyncio.Event) -> None:
        watched = list(roots)
        log.info("watching %s", ", ".join(map(str, watched)))
        changes_seen = awatch(
            *watched, stop_event=stop, debounce=self.debounce_ms, step=10, recursive=True, rust_timeout=1000
        )
        self.ready.set()
        async for changes in changes_seen:
            wanted: list[SourcePlan] = []
            for _, raw in changes:
                path = Path(raw)
                for root, plans in roots.items():
                    if path.is_relative_to(root):
                        wanted.extend(p for p in plans if p not in wanted)
            if wanted:
                try:
                    await self.harvest(wanted)
                except Exception:
                    log.exception("watch: harvest after a change failed")

    async def _tick(self, stop: asyncio.Event) -> None:
        assert self.interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
            if stop.is_set():
                return
            try:
                self.plans = await self._plans()
                await self.harvest(self.plans)
            except Exception:
                log.exception("watch: scheduled harvest failed")


def describe(report: HarvestReport) -> dict[str, Any]:
    return {"chats": report.chats_stored, "messages": report.messages_added, "issues": len(report.issues)}
