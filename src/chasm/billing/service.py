"""Billing: summary, usage, the account's billing settings, Stripe checkout (its events are
handled in `stripe_events`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.billing import plans, stripe_checkout
from chasm.billing import repository as repo
from chasm.billing.exceptions import BillingForbidden, InvalidCheckout, UnknownPlan
from chasm.billing.schemas import (
    BillingAccountUpdate,
    BillingSummary,
    CheckoutCreate,
    CheckoutOut,
    PlanOut,
    StorageOut,
    SubscriptionOut,
    UsageList,
    UsageRecordOut,
    UsageTotal,
    UsageWindow,
    WalletOut,
)
from chasm.config import Settings
from chasm.kit.pagination import PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import Account, BillingProfile, UsageRecord
from chasm.webhooks.outbox import emit

MANAGERS = ("owner", "admin")


def record_usage(
    db: AsyncSession,
    account_id: uuid.UUID,
    kind: str,
    quantity: float,
    unit: str,
    *,
    metadata: dict[str, Any] | None = None,
    session_id: uuid.UUID | None = None,
) -> None:
    """A usage record of any kind (`tokens` by model, for the models and assistants to come)."""
    db.add(
        UsageRecord(
            account_id=account_id,
            kind=kind,
            quantity=quantity,
            unit=unit,
            meta=metadata,
            session_id=session_id,
        )
    )


async def _window(db: AsyncSession, account_id: uuid.UUID, since: datetime) -> UsageWindow:
    sums = await repo.usage_since(db, account_id, since)
    spent = await repo.spent_since(db, account_id, since)
    return UsageWindow(
        session_seconds=round(sums.get("session_seconds", 0.0), 3),
        exec_count=int(sums.get("exec", 0)),
        tokens=sums.get("tokens", 0.0),
        spent_usd=spent / plans.MICRO,
    )


async def _account(db: AsyncSession, actor: Actor) -> Account:
    """The account's row in this transaction (the actor's copy may come from the principal cache)."""
    account = await db.get(Account, actor.account_id)
    return account if account is not None else actor.account


async def summary(db: AsyncSession, actor: Actor, settings: Settings) -> BillingSummary:
    plan = await plans.plan_of(db, settings, await _account(db, actor))
    profile = await db.get(BillingProfile, actor.account_id)
    balance = await repo.balance(db, actor.account_id)
    count, stored = await repo.storage(db, actor.account_id)
    now = utcnow()
    return BillingSummary(
        account_id=str(actor.account_id),
        billing_email=profile.email if profile else None,
        plan=PlanOut(
            code=plan.plan,
            unlimited=plan.unlimited,
            ephemeral_only=plan.ephemeral_only,
            live_sessions=plan.live_sessions,
            session_time_cap_s=plan.session_time_cap_s,
            wallet=plan.wallet,
            price_per_session_hour_usd=settings.billing_price_per_session_hour_usd if plan.wallet else None,
        ),
        wallet=WalletOut(balance_usd=balance / plans.MICRO, balance_microusd=balance),
        storage=StorageOut(workspaces=count, bytes=stored),
        usage_24h=await _window(db, actor.account_id, now - timedelta(hours=24)),
        usage_30d=await _window(db, actor.account_id, now - timedelta(days=30)),
        stripe_configured=stripe_checkout.configured(settings),
        subscription=SubscriptionOut(
            plan_code=profile.subscription_plan,
            stripe_subscription_id=profile.stripe_subscription_id,
            paid_until=profile.paid_until,
        )
        if profile is not None and profile.stripe_subscription_id
        else None,
    )


async def list_usage(
    db: AsyncSession,
    actor: Actor,
    *,
    kind: str | None,
    session_type: str | None,
    since: datetime | None,
    until: datetime | None,
    paging: PageParams,
) -> UsageList:
    rows, totals = await repo.list_usage(
        db,
        actor.account_id,
        kind=kind,
        session_type=session_type,
        since=since,
        until=until,
        paging=paging,
    )
    return UsageList(
        total=sum(n for _, _, _, n in totals),
        limit=paging.limit,
        offset=paging.offset,
        items=[
            UsageRecordOut(
                id=str(r.id),
                kind=r.kind,
                quantity=r.quantity,
                unit=r.unit,
                session_type=r.session_type,
                session_id=str(r.session_id) if r.session_id else None,
                workspace_id=str(r.workspace_id) if r.workspace_id else None,
                metadata=r.meta,
                period_start=r.period_start,
                period_end=r.period_end,
                created_at=r.created_at,
            )
            for r in rows
        ],
        totals=[UsageTotal(kind=k, unit=u, quantity=q, records=n) for k, u, q, n in totals],
    )


def _require_manager(actor: Actor) -> None:
    if actor.role not in MANAGERS and not actor.instance_admin:
        raise BillingForbidden("Only an owner or admin of the account manages its billing")


async def profile_of(db: AsyncSession, account_id: uuid.UUID) -> BillingProfile:
    profile = await db.get(BillingProfile, account_id)
    if profile is None:
        profile = BillingProfile(account_id=account_id)
        db.add(profile)
    return profile


async def set_plan(db: AsyncSession, account: Account, plan: str, via: str) -> None:
    if account.plan == plan:
        return
    old, account.plan = account.plan, plan
    await emit(
        db,
        account.id,
        "billing.plan.changed",
        {"account_id": str(account.id), "old": old, "new": plan, "via": via},
    )


async def update_account(
    db: AsyncSession, actor: Actor, settings: Settings, body: BillingAccountUpdate
) -> BillingSummary:
    _require_manager(actor)
    profile = await profile_of(db, actor.account_id)
    if body.email is not None:
        email = body.email.strip()
        if email and "@" not in email:
            raise InvalidCheckout("billing email must be an email address", code="invalid_email")
        profile.email = email or None
    if body.plan is not None:
        if body.plan not in plans.selectable_plans(settings):
            raise UnknownPlan(
                f"Unknown plan '{body.plan}'; plans: {', '.join(plans.selectable_plans(settings))}"
            )
        await set_plan(db, await _account(db, actor), body.plan, "api")
    profile.updated_at = utcnow()
    record(
        db,
        actor,
        "billing.account.update",
        "account",
        actor.account_id,
        metadata=body.model_dump(exclude_none=True),
    )
    await db.flush()
    return await summary(db, actor, settings)


async def checkout(db: AsyncSession, actor: Actor, settings: Settings, body: CheckoutCreate) -> CheckoutOut:
    _require_manager(actor)
    meta: dict[str, str] = {"account_id": str(actor.account_id), "mode": body.mode}
    params: dict[str, Any] = {
        "success_url": settings.billing_success_url,
        "cancel_url": settings.billing_cancel_url,
        "client_reference_id": str(actor.account_id),
    }
    if body.mode == "topup":
        if body.amount_usd is None or body.amount_usd < settings.billing_topup_min_usd:
            raise InvalidCheckout(
                f"A top-up is at least ${settings.billing_topup_min_usd:g} (amount_usd)",
                code="amount_below_minimum",
            )
        cents = round(body.amount_usd * 100)
        meta["amount_cents"] = str(cents)
        params |= {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": cents,
                        "product_data": {"name": "Chasm wallet top-up"},
                    },
                }
            ],
        }
    else:
        price = settings.stripe_prices.get(body.plan_code or "")
        if not body.plan_code or price is None:
            raise UnknownPlan(f"No Stripe price is configured for plan_code '{body.plan_code}'")
        meta["plan_code"] = body.plan_code
        params |= {
            "mode": "subscription",
            "line_items": [{"price": price, "quantity": 1}],
            # Carried by the subscription and each of its invoices: a renewal finds its account.
            "subscription_data": {"metadata": meta},
        }
    profile = await db.get(BillingProfile, actor.account_id)
    if profile is not None and profile.email:
        params["customer_email"] = profile.email
    params["metadata"] = meta
    session = await stripe_checkout.create_checkout(settings, params)
    record(
        db,
        actor,
        "billing.checkout.create",
        "checkout",
        session.id,
        summary=f"{body.mode} checkout",
        metadata={k: v for k, v in meta.items() if k != "account_id"},
    )
    return CheckoutOut(id=session.id, url=session.url, mode=body.mode)
