"""Stripe's webhook events, verified with the official library and applied once each.

- `checkout.session.completed` / `checkout.session.async_payment_succeeded`: a top-up credits the
  wallet once per checkout; a subscription sets the plan and remembers the Stripe customer and
  subscription.
- `invoice.paid`: a subscription's invoice (the first one and every renewal) credits what it
  paid to the wallet and carries the plan to the end of the invoiced period, once per invoice.
- `customer.subscription.deleted`: the account's subscription ended: back to the free plan.

Every event id is recorded (a replay does nothing); a credit's ledger row has a unique reference
per checkout or invoice (another event about the same one does nothing either).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.billing import plans, stripe_checkout
from chasm.billing import repository as repo
from chasm.billing.schemas import StripeWebhookOut
from chasm.billing.service import profile_of, set_plan
from chasm.config import Settings
from chasm.models import Account, BillingProfile, StripeEvent, WalletEntry
from chasm.webhooks.outbox import emit

FREE_PLAN = "free"
CHECKOUT_DONE = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


async def handle(
    db: AsyncSession, settings: Settings, payload: bytes, signature: str | None
) -> StripeWebhookOut:
    """Handle a verified Stripe event once; `duplicate` when it changed nothing because it (or
    another event about the same checkout, invoice or subscription) was applied before."""
    event = stripe_checkout.verified_event(settings, payload, signature)
    if await repo.stripe_event_seen(db, event.id):
        return StripeWebhookOut(received=True, duplicate=True)
    applied = True
    try:
        async with db.begin_nested():
            db.add(StripeEvent(id=event.id, type=event.type))
            obj = event.data.object.to_dict()
            if event.type in CHECKOUT_DONE:
                applied = await _checkout_completed(db, obj)
            elif event.type == "invoice.paid":
                applied = await _invoice_paid(db, obj)
            elif event.type == "customer.subscription.deleted":
                applied = await _subscription_deleted(db, obj)
    except IntegrityError:
        return StripeWebhookOut(received=True, duplicate=True)
    return StripeWebhookOut(received=True, duplicate=not applied)


def _id(value: Any) -> str | None:
    """An id field of a Stripe object: the id, or the expanded object's."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _account_id(*candidates: Any) -> uuid.UUID | None:
    for candidate in candidates:
        try:
            return uuid.UUID(str(candidate))
        except ValueError:
            continue
    return None


async def _credit(
    db: AsyncSession, account: Account, cents: int, kind: str, reference: str, description: str
) -> bool:
    """A ledger row crediting `cents`; False if `reference` was credited before."""
    if await repo.entry_by_reference(db, reference) is not None:
        return False
    db.add(
        WalletEntry(
            account_id=account.id,
            amount_microusd=cents * (plans.MICRO // 100),
            kind=kind,
            reference=reference,
            description=description,
        )
    )
    await db.flush()
    return True


async def _credited_event(db: AsyncSession, account: Account, cents: int, **source: str | None) -> None:
    await emit(
        db,
        account.id,
        "billing.wallet.credited",
        {
            "account_id": str(account.id),
            "amount_usd": cents / 100,
            "checkout_id": source.get("checkout_id"),
            "invoice_id": source.get("invoice_id"),
            "balance_usd": await repo.balance(db, account.id) / plans.MICRO,
        },
    )


async def _checkout_completed(db: AsyncSession, checkout: dict[str, Any]) -> bool:
    meta = dict(checkout.get("metadata") or {})
    account_id = _account_id(meta.get("account_id"), checkout.get("client_reference_id"))
    account = await db.get(Account, account_id) if account_id else None
    if account is None:
        return True  # not one of ours
    if checkout.get("mode") == "subscription" and meta.get("plan_code"):
        profile = await profile_of(db, account.id)
        subscription = _id(checkout.get("subscription"))
        if (
            subscription
            and profile.stripe_subscription_id == subscription
            and account.plan == meta["plan_code"]
        ):
            return False
        profile.stripe_customer_id = _id(checkout.get("customer")) or profile.stripe_customer_id
        profile.stripe_subscription_id = subscription or profile.stripe_subscription_id
        profile.subscription_plan = meta["plan_code"]
        await set_plan(db, account, meta["plan_code"], "stripe")
        record(
            db,
            None,
            "billing.subscription.start",
            "account",
            account.id,
            account_id=account.id,
            metadata=meta,
        )
        return True
    if checkout.get("payment_status") != "paid":
        return True  # async payments complete later (async_payment_succeeded)
    cents = int(checkout.get("amount_total") or meta.get("amount_cents") or 0)
    reference = f"stripe_checkout:{checkout['id']}"
    if not await _credit(db, account, cents, "topup", reference, f"Stripe checkout {checkout['id']}"):
        return False
    record(
        db,
        None,
        "billing.wallet.credit",
        "account",
        account.id,
        account_id=account.id,
        summary=f"credited ${cents / 100:.2f}",
        metadata={"checkout": checkout["id"]},
    )
    await _credited_event(db, account, cents, checkout_id=checkout["id"])
    return True


def _subscription_of(invoice: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The invoice's subscription and that subscription's metadata (in `parent` since Stripe's
    2025-03-31 API, at the top level before)."""
    details = (
        (invoice.get("parent") or {}).get("subscription_details") or invoice.get("subscription_details") or {}
    )
    subscription = _id(details.get("subscription")) or _id(invoice.get("subscription"))
    return subscription, dict(details.get("metadata") or {})


async def _account_of(
    db: AsyncSession, subscription: str | None, meta: dict[str, Any], customer: str | None
) -> tuple[Account, BillingProfile] | None:
    """The account a subscription belongs to: by the subscription recorded at checkout, by the
    account id the subscription carries, or by the Stripe customer."""
    profile = await repo.profile_by_subscription(db, subscription) if subscription else None
    if profile is None:
        account_id = _account_id(meta.get("account_id"))
        if account_id is not None and await db.get(Account, account_id) is not None:
            profile = await profile_of(db, account_id)
    if profile is None and customer:
        profile = await repo.profile_by_customer(db, customer)
    account = await db.get(Account, profile.account_id) if profile is not None else None
    return (account, profile) if account is not None and profile is not None else None


def _period_end(invoice: dict[str, Any]) -> datetime | None:
    ends = [
        int(line["period"]["end"])
        for line in (invoice.get("lines") or {}).get("data") or []
        if (line.get("period") or {}).get("end")
    ]
    end = max(ends) if ends else invoice.get("period_end")
    return datetime.fromtimestamp(int(end), UTC) if end else None


async def _invoice_paid(db: AsyncSession, invoice: dict[str, Any]) -> bool:
    subscription, meta = _subscription_of(invoice)
    if subscription is None:
        return True  # not a subscription's invoice: nothing to renew
    found = await _account_of(db, subscription, meta, _id(invoice.get("customer")))
    if found is None:
        return True  # not one of ours
    account, profile = found
    if profile.stripe_subscription_id not in (None, subscription):
        return True  # an older subscription's late invoice: the current one carries the plan
    cents = int(invoice.get("amount_paid") or 0)
    reference = f"stripe_invoice:{invoice['id']}"
    if not await _credit(db, account, cents, "subscription", reference, f"Stripe invoice {invoice['id']}"):
        return False
    plan = str(meta.get("plan_code") or profile.subscription_plan or "paid")
    profile.stripe_subscription_id = subscription
    profile.stripe_customer_id = _id(invoice.get("customer")) or profile.stripe_customer_id
    profile.subscription_plan = plan
    end = _period_end(invoice)
    if end is not None and (profile.paid_until is None or end > profile.paid_until):
        profile.paid_until = end
    await set_plan(db, account, plan, "stripe")
    record(
        db,
        None,
        "billing.subscription.renew",
        "account",
        account.id,
        account_id=account.id,
        summary=f"invoice {invoice['id']} paid: ${cents / 100:.2f}",
        metadata={"invoice": invoice["id"], "subscription": subscription, "plan": plan},
    )
    paid_until = profile.paid_until.isoformat() if profile.paid_until else None
    await emit(
        db,
        account.id,
        "billing.subscription.renewed",
        {
            "account_id": str(account.id),
            "subscription_id": subscription,
            "invoice_id": invoice["id"],
            "plan": plan,
            "amount_usd": cents / 100,
            "paid_until": paid_until,
        },
    )
    if cents:
        await _credited_event(db, account, cents, invoice_id=invoice["id"])
    return True


async def _subscription_deleted(db: AsyncSession, subscription: dict[str, Any]) -> bool:
    sub_id = _id(subscription)
    meta = dict(subscription.get("metadata") or {})
    found = await _account_of(db, sub_id, meta, _id(subscription.get("customer")))
    if found is None:
        return True  # not one of ours
    account, profile = found
    if profile.stripe_subscription_id != sub_id:
        return False  # ended before, or an older subscription: the plan stays
    old = profile.subscription_plan
    profile.stripe_subscription_id = None
    profile.subscription_plan = None
    await set_plan(db, account, FREE_PLAN, "stripe")
    record(
        db,
        None,
        "billing.subscription.end",
        "account",
        account.id,
        account_id=account.id,
        metadata={"subscription": sub_id, "plan": old},
    )
    await emit(
        db,
        account.id,
        "billing.subscription.canceled",
        {"account_id": str(account.id), "subscription_id": sub_id, "plan": old},
    )
    return True
