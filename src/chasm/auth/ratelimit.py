"""`rate_limited(surface)`: a route dependency counting requests per principal and per account.

Usage: `@router.post(..., dependencies=[Depends(rate_limited("sessions"))])`. Each surface has its
own budgets (a flood of exec calls does not block terminating sessions). Over budget the request
is refused with 429 and `Retry-After` / `X-RateLimit-*` headers; under budget the same
`X-RateLimit-*` headers describe the tighter of the two budgets.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import get_actor
from chasm.config import Settings
from chasm.kit.errors import RateLimited
from chasm.kit.ratelimit import RateLimitBackend, WindowCount, create_backend


def _backend(request: Request) -> RateLimitBackend:
    backend: RateLimitBackend | None = getattr(request.app.state, "ratelimiter", None)
    if backend is None:  # an app used without its lifespan: count in process
        backend = create_backend(None)
        request.app.state.ratelimiter = backend
    return backend


def _headers(limit: int, used: WindowCount, scope: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - used.count)),
        "X-RateLimit-Reset": str(math.ceil(used.reset_at)),
        "X-RateLimit-Scope": scope,
    }


def _refuse(limit: int, used: WindowCount, scope: str, surface: str) -> RateLimited:
    headers = _headers(limit, used, scope)
    headers["Retry-After"] = str(max(1, math.ceil(used.reset_at - time.time())))
    return RateLimited(
        f"Rate limit exceeded for {surface}: {limit} requests per {scope} per window; "
        f"retry in {headers['Retry-After']} s",
        headers=headers,
    )


def rate_limited(surface: str) -> Callable[..., Awaitable[None]]:
    """A dependency charging one request of `surface` to the caller's principal and account."""

    async def dependency(
        request: Request, response: Response, actor: Annotated[Actor, Depends(get_actor)]
    ) -> None:
        settings: Settings = request.app.state.settings
        if not settings.rate_limit_enabled:
            return
        backend = _backend(request)
        window = settings.rate_limit_window_s
        principal = await backend.hit(f"{surface}:p:{actor.principal_id}", window)
        if principal.count > settings.rate_limit_principal:
            raise _refuse(settings.rate_limit_principal, principal, "principal", surface)
        account = await backend.hit(f"{surface}:a:{actor.account_id}", window)
        if account.count > settings.rate_limit_account:
            raise _refuse(settings.rate_limit_account, account, "account", surface)
        left_principal = settings.rate_limit_principal - principal.count
        left_account = settings.rate_limit_account - account.count
        if left_account < left_principal:
            response.headers.update(_headers(settings.rate_limit_account, account, "account"))
        else:
            response.headers.update(_headers(settings.rate_limit_principal, principal, "principal"))

    return dependency


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_throttled(kind: str) -> Callable[..., Awaitable[None]]:
    """A dependency bounding password guessing on /auth/login and /auth/register: attempts per
    client address, and (for logins) per email, whatever the outcome. Refused with 429 before the
    password is even hashed, so a flood costs no argon2 work."""

    async def dependency(request: Request, response: Response) -> None:
        settings: Settings = request.app.state.settings
        if not settings.rate_limit_enabled:
            return
        backend = _backend(request)
        window = settings.login_window_s
        surface = f"auth.{kind}"
        by_ip = await backend.hit(f"{surface}:ip:{_client_ip(request)}", window)
        if by_ip.count > settings.login_attempts_per_ip:
            raise _refuse(settings.login_attempts_per_ip, by_ip, "principal", surface)
        limit, used = settings.login_attempts_per_ip, by_ip
        if kind == "login":
            try:
                body = await request.json()
            except ValueError:
                body = None
            email = body.get("email") if isinstance(body, dict) else None
            if isinstance(email, str) and email.strip():
                by_email = await backend.hit(f"{surface}:e:{email.strip().lower()}", window)
                if by_email.count > settings.login_attempts_per_email:
                    raise _refuse(settings.login_attempts_per_email, by_email, "principal", surface)
                if settings.login_attempts_per_email - by_email.count < limit - used.count:
                    limit, used = settings.login_attempts_per_email, by_email
        response.headers.update(_headers(limit, used, "principal"))

    return dependency


@asynccontextmanager
async def ratelimit_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One counter backend per server: Redis when `redis_url` is set, so processes share budgets."""
    settings: Settings = app.state.settings
    backend = create_backend(settings.redis_url)
    app.state.ratelimiter = backend
    try:
        yield
    finally:
        await backend.close()
