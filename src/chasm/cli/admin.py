"""`chasm admin`: instance administrators, managed directly in the local database (no server needed).

An instance administrator may read the server's own files (host-side harvest, harvest roots,
server paths) and run server upkeep, whatever their role in any account."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

admin_app = typer.Typer(help="Instance administrators, managed in the local database.", no_args_is_help=True)


async def _set_flag(email: str, value: bool) -> None:
    from chasm.auth import repository as repo
    from chasm.cli.keys import _with_session

    async def work(session: Any, _secret: str) -> None:
        user = await repo.get_user_by_email(session, email)
        if user is None:
            raise typer.BadParameter(f"no user with email {email}", param_hint="EMAIL")
        user.is_instance_admin = value

    await _with_session(work)


@admin_app.command("grant")
def grant(email: str = typer.Argument(..., help="The user's email.")) -> None:
    """Make a user an instance administrator."""
    asyncio.run(_set_flag(email, True))
    typer.echo(f"{email} is now an instance administrator")


@admin_app.command("revoke")
def revoke(email: str = typer.Argument(..., help="The user's email.")) -> None:
    """Take a user's instance administrator rights away."""
    asyncio.run(_set_flag(email, False))
    typer.echo(f"{email} is no longer an instance administrator")


@admin_app.command("list")
def list_admins() -> None:
    """Print the email of every instance administrator."""
    from chasm.auth import repository as auth_repo
    from chasm.cli.keys import _with_session

    async def work(session: Any, _secret: str) -> list[str]:
        return await auth_repo.instance_admin_emails(session)

    for email in asyncio.run(_with_session(work)):
        typer.echo(email)
