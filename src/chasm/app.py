"""create_app(): the one ASGI application serving the platform (/v1, /auth, /s) and chat (/api) surfaces."""

from __future__ import annotations

import functools
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from chasm import __version__
from chasm.accounts import endpoints as accounts_endpoints
from chasm.agents import endpoints as agents_endpoints
from chasm.audit import endpoints as audit_endpoints
from chasm.auth import endpoints as auth_endpoints
from chasm.auth.principals import principals_lifespan
from chasm.auth.ratelimit import ratelimit_lifespan
from chasm.billing import endpoints as billing_endpoints
from chasm.billing.metering import metering_lifespan
from chasm.browser import endpoints as browser_endpoints
from chasm.chats import endpoints as chats_endpoints
from chasm.chats import export_endpoints, stats_endpoints
from chasm.completions import endpoints as completions_endpoints
from chasm.config import Settings, get_settings
from chasm.exec import endpoints as exec_endpoints
from chasm.files import endpoints as files_endpoints
from chasm.gateway import cdp as gateway_cdp
from chasm.gateway import endpoints as gateway_endpoints
from chasm.gateway.subdomain import SubdomainGateway
from chasm.harvest import endpoints as harvest_endpoints
from chasm.jobs import endpoints as jobs_endpoints
from chasm.jobs.worker import jobs_lifespan
from chasm.keys import endpoints as keys_endpoints
from chasm.kit import datalock, handlers
from chasm.kit.activity import WriteActivity
from chasm.kit.api_tags import openapi_tags
from chasm.kit.bodylimit import BodyLimitMiddleware
from chasm.kit.crypto import configure_password_hashing
from chasm.kit.db import create_engine, make_sessionmaker, migrate
from chasm.kit.events import events_lifespan
from chasm.kit.logredact import install_log_redaction
from chasm.kit.openapi import document_platform_errors
from chasm.kit.surface import ChatRouter, Surface, fallback_router
from chasm.mcp import endpoints as mcp_endpoints
from chasm.mcp.server import mcp_lifespan
from chasm.providers import endpoints as providers_endpoints
from chasm.providers.runtime import providers_lifespan
from chasm.realtime import endpoints as realtime_endpoints
from chasm.realtime.lifecycle import realtime_lifespan
from chasm.recording import endpoints as recording_endpoints
from chasm.recording.lifecycle import recording_lifespan
from chasm.search import endpoints as search_endpoints
from chasm.secrets import endpoints as secrets_endpoints
from chasm.semantic import endpoints as semantic_endpoints
from chasm.semantic.lifecycle import semantic_lifespan
from chasm.sessions import endpoints as sessions_endpoints
from chasm.sessions import pty as sessions_pty
from chasm.sessions.access import quiet_refused_handshakes
from chasm.sessions.lifecycle import sandbox_lifespan
from chasm.sshkeys import endpoints as sshkeys_endpoints
from chasm.swarms import endpoints as swarms_endpoints
from chasm.sync import endpoints as sync_endpoints
from chasm.system import docs_ui
from chasm.system import endpoints as system_endpoints
from chasm.system.bootstrap import bootstrap_owner
from chasm.system.secret import SecretMismatch, check_secret, load_or_create_secret
from chasm.watch.lifecycle import watch_lifespan
from chasm.webhooks import endpoints as webhooks_endpoints
from chasm.webhooks.dispatcher import webhooks_lifespan
from chasm.webui import endpoints as webui_endpoints
from chasm.webui import spa as webui_spa
from chasm.workspaces import endpoints as workspaces_endpoints

log = logging.getLogger("chasm")

# Each domain that runs something for the server's lifetime (workers, drivers, reapers) adds its
# lifespan here: an async context manager factory taking the app.
DOMAIN_LIFESPANS: list[Callable[[FastAPI], AbstractAsyncContextManager[None]]] = [
    ratelimit_lifespan,
    events_lifespan,
    principals_lifespan,  # after events: listens on the bus
    realtime_lifespan,  # after events: chat writes announced on the bus
    sandbox_lifespan,
    jobs_lifespan,
    mcp_lifespan,
    webhooks_lifespan,
    metering_lifespan,
    recording_lifespan,
    providers_lifespan,  # SDK clients of the configured model providers
    semantic_lifespan,  # after events: embeds what library updates name
    watch_lifespan,  # auto_harvest: live harvest of the server's folders (instance admins)
]

# Routers of the platform surface, mounted at the root (their paths start with /v1, /auth, /s).
PLATFORM_ROUTERS: list[APIRouter] = [
    auth_endpoints.router,
    auth_endpoints.invites_router,
    accounts_endpoints.router,
    keys_endpoints.router,
    sshkeys_endpoints.router,
    audit_endpoints.router,
    sessions_endpoints.router,
    sessions_pty.router,
    exec_endpoints.router,
    files_endpoints.router,
    gateway_endpoints.router,
    gateway_cdp.router,
    browser_endpoints.router,
    jobs_endpoints.router,
    workspaces_endpoints.router,
    mcp_endpoints.router,
    webhooks_endpoints.router,
    billing_endpoints.router,
    recording_endpoints.socket_router,  # /ws/recording (authenticates in the handler)
    realtime_endpoints.router,  # /ws: library updates (authenticates in the handler)
    webui_endpoints.router,  # /auth/local-token: the dashboard's loopback sign-in
]

# Routes of the chat library, each declared once and built per surface: /api/v1 answers spec 001's
# bare schemas, /api spec 003's envelope (chasm.kit.surface). Fixed paths come before id paths.
CHAT_ROUTES: list[ChatRouter] = [
    search_endpoints.routes,
    secrets_endpoints.routes,
    semantic_endpoints.routes,
    export_endpoints.routes,
    stats_endpoints.routes,
    system_endpoints.health_routes,
    system_endpoints.routes,
    system_endpoints.settings_routes,
    chats_endpoints.workspace_routes,
    chats_endpoints.routes,
    harvest_endpoints.routes,
    providers_endpoints.routes,
    agents_endpoints.routes,
    swarms_endpoints.routes,
    sync_endpoints.routes,
]
# Matched before every other router: a completion's first token waits on its routing, and FastAPI
# tries each route of each included router in turn (about 2 ms to reach the 34th router on the
# bench machine). Their paths are their own, so the order changes nothing else.
HOT_CHAT_ROUTES: list[ChatRouter] = [completions_endpoints.routes]
# Routes of one surface only: spec 003's recording API has no 001 counterpart.
API_ONLY_ROUTES: list[ChatRouter] = [recording_endpoints.routes]
CHAT_SURFACES: list[tuple[Surface, str]] = [(Surface.V1, "/api/v1"), (Surface.API, "/api")]


def _legacy_id(route: APIRoute) -> str:
    return f"legacy_{route.name}_{'_'.join(sorted(route.methods or []))}".lower()


def _v1_id(route: APIRoute) -> str:
    return f"{route.name}_{'_'.join(sorted(route.methods or []))}".lower()


_OPERATION_IDS = {Surface.V1: _v1_id, Surface.API: _legacy_id}


@functools.cache
def _surface_routers(surface: Surface, hot: bool) -> tuple[APIRouter, ...]:
    """A surface's chat routers, built once per process (their models and validators cost a third
    of a second of CPU): every app of the process includes the same ones, as it does the platform's
    module-level routers (a test run starts an app per test)."""
    only = API_ONLY_ROUTES if surface is Surface.API else []
    return tuple(routes.build(surface) for routes in (HOT_CHAT_ROUTES if hot else [*CHAT_ROUTES, *only]))


def include_chat_surfaces(app: FastAPI, hot: bool = False) -> None:
    for surface, prefix in CHAT_SURFACES:
        for router in _surface_routers(surface, hot):
            app.include_router(router, prefix=prefix, generate_unique_id_function=_OPERATION_IDS[surface])
        if not hot:
            app.include_router(fallback_router(surface), prefix=prefix)


def _install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_platform_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, role: str = "server") -> FastAPI:
    """`role` "server" owns the data directory (its lock, sandbox recovery and shutdown);
    "worker" (`chasm worker`) shares it with a running server and only runs jobs."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the database or any sandbox is touched: a second server on this data dir
        # would otherwise recover (end) the first one's sessions.
        lock = datalock.hold(settings.data_dir) if role == "server" else None
        try:
            async with _running(app):
                yield
        finally:
            if lock is not None:
                lock.release()

    @asynccontextmanager
    async def _running(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)  # secret key, database, workspaces: the server's user only
        # One secret for everything keyed by it (JWTs, API keys, session access tokens, stored
        # credentials): the configured one, else the data dir's generated one.
        settings.secret_key = app.state.secret_key = load_or_create_secret(settings)
        engine = create_engine(settings.effective_database_url, settings.database_schema)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        await migrate(engine)
        try:
            await check_secret(app.state.sessionmaker, app.state.secret_key)
        except SecretMismatch:
            await engine.dispose()
            raise
        if settings.bootstrap_admin:
            secret = await bootstrap_owner(app.state.sessionmaker, app.state.secret_key)
            if secret:
                app.state.bootstrap_key = secret
                print(
                    "\nChasm created the local owner (owner@localhost) and an admin API key.\n"
                    f"It is shown only this once:\n\n    {secret}\n",
                    flush=True,
                )
        async with AsyncExitStack() as stack:
            for factory in DOMAIN_LIFESPANS:
                await stack.enter_async_context(factory(app))
            # Everything loaded so far (modules, routes, models, compiled queries) lives as long as
            # the server: out of the collector's sight, a full collection no longer walks it all
            # (a pause of tens of ms under load, in every p99).
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()  # an app stopped inside a longer-lived process (tests) can be freed
        await engine.dispose()

    app = FastAPI(
        title="Chasm",
        version=__version__,
        description="Self-hosted platform for AI agents and chat session manager.",
        lifespan=lifespan,
        openapi_url="/api-docs/openapi.json",
        openapi_tags=openapi_tags(),
        docs_url=None,  # served by chasm.system.docs_ui, from installed assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.role = role
    install_log_redaction()
    configure_password_hashing(settings.argon2_time_cost, settings.argon2_memory_kib)
    app.state.started_monotonic = time.monotonic()
    app.state.write_activity = WriteActivity()  # writers mark it, background work gives way
    handlers.install(app)
    docs_ui.install(app)
    _install_openapi(app)
    quiet_refused_handshakes()
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SubdomainGateway, base_domain=settings.base_domain)
    app.add_middleware(handlers.UnexpectedErrorMiddleware)  # last added: outermost
    include_chat_surfaces(app, hot=True)
    for router in PLATFORM_ROUTERS:
        app.include_router(router)
    include_chat_surfaces(app)
    webui_spa.install(app)  # last: the dashboard at / and its client routes, never an API path
    return app
