"""The calls the sandbox domains make into billing (kept here so theirs stay one line each)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.billing import plans
from chasm.billing import repository as repo
from chasm.billing.exceptions import WalletEmpty
from chasm.config import Settings
from chasm.jobs.runtime import after_commit
from chasm.kit.timeutil import utcnow
from chasm.models import Account, SandboxSession, SessionMeter, UsageRecord
from chasm.webhooks.outbox import emit

_meter_wakers: set[asyncio.Event] = set()


def add_meter_waker(waker: asyncio.Event) -> None:
    _meter_wakers.add(waker)


def remove_meter_waker(waker: asyncio.Event) -> None:
    _meter_wakers.discard(waker)


def wake_meter() -> None:
    for waker in list(_meter_wakers):
        waker.set()


async def admit(db: AsyncSession, actor: Actor, settings: Settings) -> None:
    """A plan paid from a wallet starts no session on an empty wallet (402 wallet_empty)."""
    if actor.instance_admin:
        return
    account = await db.get(Account, actor.account_id)  # the actor's may come from a cache
    plan = await plans.plan_of(db, settings, account if account is not None else actor.account)
    if plan.wallet and await repo.balance(db, actor.account_id) <= 0:
        raise WalletEmpty(
            "This account's wallet is empty; top it up (POST /v1/billing/checkout) to start a session",
            details={"plan": plan.plan},
        )


def session_data(row: SandboxSession) -> dict[str, object]:
    return {
        "session_id": str(row.id),
        "session_type": row.session_type,
        "workspace_id": str(row.workspace_id) if row.workspace_id else None,
        "ephemeral": row.ephemeral,
        "image": row.image,
        "status": row.status,
        "started_at": row.started_at.isoformat() if row.started_at else None,
    }


async def session_started(db: AsyncSession, row: SandboxSession) -> None:
    """Start metering the session (its meter is closed, and session.terminated sent, once it ended)."""
    db.add(
        SessionMeter(session_id=row.id, account_id=row.account_id, metered_until=row.started_at or utcnow())
    )
    await emit(db, row.account_id, "session.created", session_data(row))


def session_ended(db: AsyncSession) -> None:
    """Meter (and report) an ended session as soon as its end is committed."""
    after_commit(db, wake_meter)


async def record_exec(db: AsyncSession, row: SandboxSession) -> None:
    db.add(
        UsageRecord(
            account_id=row.account_id,
            kind="exec",
            quantity=1,
            unit="count",
            session_type=row.session_type,
            session_id=row.id,
            workspace_id=row.workspace_id,
        )
    )


async def command_exited(
    db: AsyncSession,
    row: SandboxSession,
    command: str,
    exit_code: int | None,
    timed_out: bool,
    duration_ms: float,
) -> None:
    """A foreground command ended (its exec is metered here)."""
    await record_exec(db, row)
    data = command_data(
        str(row.id), None, command, exit_code, "timed_out" if timed_out else "exited", duration_ms
    )
    await emit(db, row.account_id, "command.exited", data)


def command_data(
    session_id: str,
    command_id: str | None,
    command: str,
    exit_code: int | None,
    status: str,
    duration_ms: float | None,
) -> dict[str, object]:
    """The `command.exited` payload (docs/webhooks.md): a background command has its id."""
    return {
        "session_id": session_id,
        "command_id": command_id,
        "background": command_id is not None,
        "command": command[:1000],
        "exit_code": exit_code,
        "status": status,
        "timed_out": status == "timed_out",
        "duration_ms": round(duration_ms, 3) if duration_ms is not None else None,
    }


async def background_command_exited(db: AsyncSession, account_id: uuid.UUID, data: dict[str, object]) -> None:
    """A background command ended (its exec was metered when it started)."""
    await emit(db, account_id, "command.exited", data)
