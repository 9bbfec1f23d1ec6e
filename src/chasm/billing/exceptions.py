from __future__ import annotations

from chasm.kit.errors import ChasmError


class WalletEmpty(ChasmError):
    status_code = 402
    code = "wallet_empty"


class StripeNotConfigured(ChasmError):
    status_code = 503
    code = "stripe_not_configured"

    def __init__(self) -> None:
        super().__init__("Stripe is not configured on this server (stripe_api_key, stripe_webhook_secret)")


class InvalidCheckout(ChasmError):
    status_code = 400
    code = "invalid_checkout"


class StripeFailed(ChasmError):
    status_code = 502
    code = "stripe_error"


class InvalidStripeSignature(ChasmError):
    status_code = 400
    code = "invalid_stripe_signature"


class BillingForbidden(ChasmError):
    status_code = 403
    code = "billing_forbidden"


class UnknownPlan(ChasmError):
    status_code = 400
    code = "unknown_plan"
