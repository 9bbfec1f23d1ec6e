"""Errors of login, tokens and OAuth flows."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError, Forbidden, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("Invalid email or password")


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"


class ProviderNotConfigured(NotFound):
    code = "oauth_provider_not_configured"


class InvalidOAuthState(BadRequest):
    code = "invalid_oauth_state"

    def __init__(self) -> None:
        super().__init__("Unknown or expired OAuth state; start the login again")


class OAuthFailed(BadRequest):
    code = "oauth_failed"


class OAuthUpstreamError(ChasmError):
    status_code = 502
    code = "oauth_upstream_error"


class NotAUser(Forbidden):
    code = "user_required"

    def __init__(self) -> None:
        super().__init__("This action needs a user's credentials, not a service account's")


class RegistrationClosed(Forbidden):
    code = "registration_closed"


class InvalidInvite(Forbidden):
    code = "invalid_invite"


class InviteNotFound(NotFound):
    code = "invite_not_found"

    def __init__(self, invite_id: str) -> None:
        super().__init__(f"Invitation '{invite_id}' not found")


class DelegationRevoked(Forbidden):
    """Work enqueued on a caller's behalf whose caller may no longer act (key revoked, expired)."""

    code = "delegation_revoked"
