"""Stripe, through the official library: Checkout sessions out, signed webhook events in."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from chasm.billing.exceptions import InvalidStripeSignature, StripeFailed, StripeNotConfigured
from chasm.config import Settings


def configured(settings: Settings) -> bool:
    return bool(settings.stripe_api_key and settings.stripe_webhook_secret)


def client(settings: Settings) -> stripe.StripeClient:
    if not configured(settings):
        raise StripeNotConfigured()
    assert settings.stripe_api_key is not None
    base: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(settings.stripe_api_key, base_addresses=base, max_network_retries=1)


async def create_checkout(settings: Settings, params: dict[str, Any]) -> stripe.checkout.Session:
    try:
        # The library's own blocking client, in a thread: its httpx client for the async calls
        # sends bodies through an argument httpx deprecates.
        sessions = client(settings).v1.checkout.sessions
        return await asyncio.to_thread(sessions.create, params=params)  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise StripeFailed(f"Stripe refused the checkout: {exc.user_message or exc}") from exc


def verified_event(settings: Settings, payload: bytes, signature: str | None) -> stripe.Event:
    if not configured(settings):
        raise StripeNotConfigured()
    try:
        return stripe.Webhook.construct_event(payload, signature, settings.stripe_webhook_secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidStripeSignature(f"Stripe signature verification failed: {exc}") from exc
