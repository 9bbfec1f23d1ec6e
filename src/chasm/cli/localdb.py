"""The one way CLI commands reach the configured database directly (no server needed): migrated,
with the instance secret, telling running servers of what changes (through Redis when set), and
acting as the local operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import typer


@dataclass
class LocalDatabase:
    maker: Any  # async_sessionmaker
    settings: Any  # chasm.config.Settings
    secret: str


@asynccontextmanager
async def local_database() -> AsyncIterator[LocalDatabase]:
    from chasm.auth.principals import INFO_KEY, PrincipalCache
    from chasm.config import get_settings
    from chasm.kit.db import create_engine, make_sessionmaker, migrate
    from chasm.kit.events import RedisEventBus
    from chasm.system.secret import load_or_create_secret

    settings = get_settings()
    secret = load_or_create_secret(settings)
    engine = create_engine(settings.effective_database_url, settings.database_schema)
    # With Redis, servers hear of what a command changes (a revoked key, an instance admin) at
    # once; without it they notice within principal_cache_ttl_s.
    bus = RedisEventBus(settings.redis_url) if settings.redis_url else None
    maker = make_sessionmaker(engine)
    if bus is not None:
        maker.configure(info={INFO_KEY: PrincipalCache(0, bus)})
    try:
        await migrate(engine)
        yield LocalDatabase(maker, settings, secret)
    finally:
        if bus is not None:
            await bus.close()
        await engine.dispose()


@asynccontextmanager
async def local_operator(account: str | None) -> AsyncIterator[tuple[Any, Any, Any]]:
    """(sessionmaker, actor, settings): the database as its operator, in `account` (default: the
    local owner's personal account). A fresh install gets its local owner, as the server's first
    start makes it."""
    from chasm.auth import repository as auth_repo
    from chasm.auth.actor import Actor
    from chasm.auth.selection import account_for_user

    async with local_database() as local:
        async with local.maker() as db:
            has_owner = await auth_repo.first_owner(db) is not None
        if not has_owner:
            await _create_local_owner(local)
        async with local.maker() as db:
            owner = await auth_repo.first_owner(db)
            assert owner is not None
            found, role = await account_for_user(db, owner.id, account)
        # Whoever runs the CLI on the server's database is its operator: an instance administrator.
        actor = Actor("user", owner.id, found, role, None, via="cli", instance_admin=True)
        yield local.maker, actor, local.settings


async def _create_local_owner(local: LocalDatabase) -> None:
    from chasm.system.bootstrap import bootstrap_owner

    secret = await bootstrap_owner(local.maker, local.secret)
    if secret:
        typer.echo(
            f"Created the local owner (owner@localhost); the library lives in {local.settings.data_dir}.\n"
            f"Its admin API key, shown only this once: {secret}",
            err=True,
        )
