"""`chasm keys`: mint and list API keys directly in the local database (no server needed)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import typer

keys_app = typer.Typer(help="API keys, managed directly in the local database.", no_args_is_help=True)

EMAIL = typer.Option("owner@localhost", "--email", help="The user the key belongs to.")
ACCOUNT = typer.Option(None, "--account", help="Account id or name (default: the user's personal account).")


async def _with_session(work: Any) -> Any:
    """`work(session, secret)` in one transaction on the local database."""
    from chasm.cli.localdb import local_database
    from chasm.kit.db import transaction

    async with local_database() as local, transaction(local.maker) as db:
        return await work(db, local.secret)


async def _actor(session: Any, email: str, account: str | None) -> Any:
    from chasm.accounts.service import create_user
    from chasm.auth import repository as repo
    from chasm.auth.actor import Actor
    from chasm.auth.selection import account_for_user
    from chasm.system.bootstrap import LOCAL_OWNER_EMAIL

    user = await repo.get_user_by_email(session, email)
    if (
        user is None
        and email.strip().lower() == LOCAL_OWNER_EMAIL
        and await repo.first_owner(session) is None
    ):
        user, _ = await create_user(session, LOCAL_OWNER_EMAIL, None, "Local owner", email_verified=True)
        user.is_instance_admin = True
    if user is None:
        raise typer.BadParameter(f"no user with email {email}", param_hint="--email")
    found, role = await account_for_user(session, user.id, account)
    return Actor("user", user.id, found, role, None, via="cli")


@keys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="A name to recognise the key by."),
    scope: list[str] = typer.Option(None, "--scope", help="Restrict the key to this scope (repeatable)."),
    email: str = EMAIL,
    account: str | None = ACCOUNT,
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from chasm.keys.schemas import KeyCreate
    from chasm.keys.service import create_key
    from chasm.kit.errors import ChasmError

    async def work(session: Any, secret: str) -> Any:
        actor = await _actor(session, email, account)
        return await create_key(session, actor, secret, KeyCreate(name=name, scopes=scope or None))

    try:
        created = asyncio.run(_with_session(work))
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    scopes = ", ".join(created.scopes) if created.scopes else "full access"
    typer.echo(f"Created key {created.name} ({created.id}), {scopes}. Its secret, shown only now:", err=True)
    typer.echo(created.key)


@keys_app.command("list")
def list_keys(email: str = EMAIL, account: str | None = ACCOUNT) -> None:
    """List the API keys of every account the user belongs to, or of --account (never secrets)."""
    from chasm.accounts.service import list_accounts
    from chasm.keys.service import list_keys as service_list
    from chasm.kit.errors import ChasmError
    from chasm.kit.pagination import collect
    from chasm.kit.timeutil import iso

    async def work(session: Any, _secret: str) -> Any:
        actor = await _actor(session, email, account)
        names = (
            [account]
            if account
            else [a.name for a in await collect(lambda p: list_accounts(session, actor, p))]
        )
        found = []
        for name in names:
            scoped = await _actor(session, email, name)
            keys = await collect(functools.partial(service_list, session, scoped))
            found += [(scoped.account.name, key) for key in keys]
        return found

    try:
        keys = asyncio.run(_with_session(work))
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    for account_name, key in keys:
        state = "revoked" if key.revoked_at else "active"
        scopes = ",".join(key.scopes) if key.scopes else "*"
        typer.echo(
            f"{key.id}  {key.prefix}…  {state:7}  {scopes}  {key.name}  account {account_name}"
            f"  created {iso(key.created_at)}"
        )
