"""create_app(): the one ASGI application serving the platform (/v1, /auth, /s) and chat (/api) surfaces."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from chasm import __version__
from chasm.config import Settings, get_settings
from chasm.kit import handlers
from chasm.kit.bodylimit import BodyLimitMiddleware
from chasm.kit.db import create_engine, make_sessionmaker, migrate
from chasm.system import endpoints as system_endpoints
from chasm.system.bootstrap import bootstrap_owner
from chasm.system.secret import load_or_create_secret

log = logging.getLogger("chasm")

# Each domain that runs something for the server's lifetime (workers, drivers, reapers) adds its
# lifespan here: an async context manager factory taking the app.
DOMAIN_LIFESPANS: list[Callable[[FastAPI], AbstractAsyncContextManager[None]]] = []

# Routers of the platform surface, mounted at the root (their paths start with /v1, /auth, /s).
PLATFORM_ROUTERS: list[APIRouter] = []

# Routers of the chat surface, mounted twice: at /api/v1 (spec 001) and /api (spec 003).
CHAT_ROUTERS: list[APIRouter] = [system_endpoints.router]


def _legacy_id(route: APIRoute) -> str:
    return f"legacy_{route.name}_{'_'.join(sorted(route.methods or []))}".lower()


def _v1_id(route: APIRoute) -> str:
    return f"{route.name}_{'_'.join(sorted(route.methods or []))}".lower()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.secret_key = load_or_create_secret(settings)
        engine = create_engine(settings.effective_database_url, settings.database_schema)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        await migrate(engine)
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
            yield
        await engine.dispose()

    app = FastAPI(
        title="Chasm",
        version=__version__,
        description="Self-hosted platform for AI agents and chat session manager.",
        lifespan=lifespan,
        openapi_url="/api-docs/openapi.json",
        docs_url="/swagger-ui",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.started_monotonic = time.monotonic()
    handlers.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for router in PLATFORM_ROUTERS:
        app.include_router(router)
    for router in CHAT_ROUTERS:
        app.include_router(router, prefix="/api/v1", generate_unique_id_function=_v1_id)
        app.include_router(router, prefix="/api", generate_unique_id_function=_legacy_id)
    return app
