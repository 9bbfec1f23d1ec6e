"""Errors of the model layer: what a provider answered, translated once at the SDK boundary."""

from __future__ import annotations

from chasm.kit.errors import ChasmError


class ProviderError(ChasmError):
    """A provider failed in a way no narrower type names."""

    status_code = 502
    code = "provider_error"


class ProviderAuthFailed(ProviderError):
    """The provider refused the configured credentials (a gateway error: the caller's own
    credentials for Chasm were fine)."""

    status_code = 502
    code = "provider_auth_failed"


class ProviderRateLimited(ProviderError):
    status_code = 429
    code = "provider_rate_limited"


class ContextTooLong(ProviderError):
    status_code = 400
    code = "context_length_exceeded"


class ProviderUnavailable(ProviderError):
    """The provider cannot be reached, timed out, or answered with a server error (502), or it is
    overloaded / disabled (503)."""

    status_code = 502
    code = "provider_unavailable"


class ProviderBadRequest(ProviderError):
    status_code = 400
    code = "provider_bad_request"


class UnknownProvider(ChasmError):
    status_code = 404
    code = "provider_not_found"


class UnknownModel(ChasmError):
    status_code = 404
    code = "model_not_found"
