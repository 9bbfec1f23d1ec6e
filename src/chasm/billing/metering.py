"""The meter: every `billing_meter_interval_s` (and as soon as a session ends) each open session
meter adds the seconds since its last tick as usage, debits them from the wallet on a wallet plan,
and ends a running session over its plan's time cap (`plan_time_limit`) or on an empty wallet
(`wallet_exhausted`). A session that ended is metered to its end, its meter closed, and
`session.terminated` sent, in one transaction. Storage (real bytes on disk) is sampled per
workspace every `billing_storage_sample_interval_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.accounts.quotas import PlanQuota
from chasm.billing import hooks, plans
from chasm.billing import repository as repo
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import Account, SandboxSession, SessionMeter, UsageRecord, WalletEntry
from chasm.webhooks.outbox import emit

log = logging.getLogger("chasm.billing")


class Meter:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.settings: Settings = app.state.settings
        self.maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
        self.waker = asyncio.Event()
        self._sampled = 0.0

    async def run(self) -> None:
        while True:
            self.waker.clear()
            try:
                await self.tick()
                if time.monotonic() - self._sampled >= self.settings.billing_storage_sample_interval_s:
                    self._sampled = time.monotonic()
                    await self.sample_storage()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("metering failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.waker.wait(), self.settings.billing_meter_interval_s)

    async def tick(self, now: datetime | None = None) -> None:
        async with transaction(self.maker) as db:
            now = now or utcnow()
            plan_cache: dict[uuid.UUID, PlanQuota] = {}
            exhausted: set[uuid.UUID] = set()
            for meter, row in await repo.open_meters(db, self._node()):
                plan = plan_cache.get(row.account_id)
                if plan is None:
                    account = await db.get(Account, row.account_id)
                    if account is None:
                        continue
                    plan = plan_cache[row.account_id] = await plans.plan_of(db, self.settings, account)
                await self._advance(db, meter, row, plan, now)
                if row.status == "terminated":
                    await self._close(db, meter, row)
                    continue
                reason = await self._end_reason(db, row, plan, now, exhausted)
                if reason is not None:
                    await db.refresh(row)  # a terminate may have committed since the tick began
                if reason is not None and await self._end(row, reason):
                    await self._advance(db, meter, row, plan, row.ended_at or now)
                    await self._close(db, meter, row)

    async def _advance(
        self, db: AsyncSession, meter: SessionMeter, row: SandboxSession, plan: PlanQuota, now: datetime
    ) -> None:
        end = min(row.ended_at, now) if row.ended_at is not None else now
        seconds = (end - meter.metered_until).total_seconds()
        if seconds <= 0:
            return
        db.add(
            UsageRecord(
                account_id=row.account_id,
                kind="session_seconds",
                quantity=seconds,
                unit="seconds",
                session_type=row.session_type,
                session_id=row.id,
                workspace_id=row.workspace_id,
                period_start=meter.metered_until,
                period_end=end,
                created_at=end,
            )
        )
        meter.metered_until = end
        meter.seconds += seconds
        if plan.wallet:
            due = plans.charge_for(self.settings, meter.seconds)
            if due != meter.charged_microusd:
                db.add(
                    WalletEntry(
                        account_id=row.account_id,
                        amount_microusd=-(due - meter.charged_microusd),
                        kind="session_time",
                        description=f"session {row.id}: {meter.seconds:.3f} s metered",
                        created_at=end,
                    )
                )
                meter.charged_microusd = due
        await db.flush()

    async def _end_reason(
        self, db: AsyncSession, row: SandboxSession, plan: PlanQuota, now: datetime, exhausted: set[uuid.UUID]
    ) -> str | None:
        started = row.started_at or row.created_at
        if plan.session_time_cap_s is not None and (now - started).total_seconds() >= plan.session_time_cap_s:
            return "plan_time_limit"
        if plan.wallet:
            if row.account_id in exhausted:
                return "wallet_exhausted"
            if await repo.balance(db, row.account_id) <= 0:
                exhausted.add(row.account_id)
                await emit(
                    db,
                    row.account_id,
                    "billing.wallet.exhausted",
                    {
                        "account_id": str(row.account_id),
                        "balance_usd": await _balance_usd(db, row.account_id),
                    },
                )
                return "wallet_exhausted"
        return None

    def _node(self) -> str | None:
        runtime = getattr(self.app.state, "sandbox", None)
        return getattr(runtime, "node_id", None) or None

    async def _end(self, row: SandboxSession, reason: str) -> bool:
        from chasm.sandbox.runtime import runtime_of
        from chasm.sessions.service import end_session

        try:
            runtime = runtime_of(self.app)
        except Exception:
            return False
        if row.status == "terminated":
            return True
        if row.node_id and runtime.node_id and row.node_id != runtime.node_id:
            return False  # its machine runs on another node: that node's meter ends it
        await end_session(runtime, row, reason)
        log.info("session %s ended: %s", row.id, reason)
        return True

    async def _close(self, db: AsyncSession, meter: SessionMeter, row: SandboxSession) -> None:
        meter.closed = True
        data = {
            **hooks.session_data(row),
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "ended_reason": row.ended_reason,
            "metered_seconds": round(meter.seconds, 3),
            "charged_usd": meter.charged_microusd / plans.MICRO,
        }
        await emit(db, row.account_id, "session.terminated", data)

    async def sample_storage(self) -> None:
        from chasm.sandbox.runtime import runtime_of
        from chasm.workspaces.service import disk_id

        try:
            storage = runtime_of(self.app).storage
        except Exception:
            return
        async with transaction(self.maker) as db:
            now = utcnow()
            for ws in await repo.ready_workspaces(db):
                try:
                    used = await storage.usage(disk_id(ws))
                except Exception:
                    log.warning("could not measure workspace %s", ws.id, exc_info=True)
                    continue
                ws.size_bytes = used
                db.add(
                    UsageRecord(
                        account_id=ws.account_id,
                        kind="storage_bytes",
                        quantity=used,
                        unit="bytes",
                        session_type=ws.session_type,
                        workspace_id=ws.id,
                        created_at=now,
                    )
                )


async def _balance_usd(db: AsyncSession, account_id: uuid.UUID) -> float:
    return await repo.balance(db, account_id) / plans.MICRO


@asynccontextmanager
async def metering_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's meter (a `chasm worker` does not meter)."""
    if getattr(app.state, "role", "server") != "server":
        yield
        return
    meter = Meter(app)
    app.state.billing_meter = meter
    hooks.add_meter_waker(meter.waker)
    task = asyncio.create_task(meter.run(), name="chasm-billing-meter")
    try:
        yield
    finally:
        hooks.remove_meter_waker(meter.waker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
