"""/v1/billing: summary, usage, billing settings, Stripe checkout and Stripe's webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.billing import service, stripe_events
from chasm.billing.schemas import (
    BillingAccountUpdate,
    BillingSummary,
    CheckoutCreate,
    CheckoutOut,
    StripeWebhookOut,
    UsageList,
)
from chasm.config import Settings
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging

router = APIRouter(prefix="/v1/billing", tags=[Tag.BILLING])

Reader = Annotated[Actor, Depends(require_scope("billing.read"))]
Writer = Annotated[Actor, Depends(require_scope("billing.write"))]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]


@router.get("/summary")
async def billing_summary(actor: Reader, db: DbSession, settings: AppSettings) -> BillingSummary:
    """Plan, limits, wallet, storage, and usage of the last 24 h and 30 d."""
    return await service.summary(db, actor, settings)


@router.get("/usage")
async def billing_usage(
    actor: Reader,
    db: DbSession,
    paging: Paging,
    kind: str | None = None,
    session_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> UsageList:
    """Usage records, newest first, and the totals of every record matching the filters."""
    return await service.list_usage(
        db, actor, kind=kind, session_type=session_type, since=since, until=until, paging=paging
    )


@router.post("/account")
async def update_billing_account(
    body: BillingAccountUpdate, actor: Writer, db: DbSession, settings: AppSettings
) -> BillingSummary:
    """Set the billing email or the plan."""
    return await service.update_account(db, actor, settings, body)


@router.post("/checkout", status_code=201)
async def create_checkout(
    body: CheckoutCreate, actor: Writer, db: DbSession, settings: AppSettings
) -> CheckoutOut:
    """Create a Stripe Checkout session: a wallet top-up or a subscription."""
    return await service.checkout(db, actor, settings, body)


@router.post("/stripe/webhook")
async def stripe_webhook(request: Request, db: DbSession, settings: AppSettings) -> StripeWebhookOut:
    """Stripe's events, verified by their signature (no API key: Stripe calls it)."""
    payload = await request.body()
    return await stripe_events.handle(db, settings, payload, request.headers.get("stripe-signature"))
