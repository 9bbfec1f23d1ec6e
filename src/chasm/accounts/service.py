"""Users and their accounts. Every user has one implicit personal account, owned by them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth import repository as auth_repo
from chasm.kit.crypto import hash_password
from chasm.kit.errors import Conflict
from chasm.models import Account, Membership, User


async def create_user(
    session: AsyncSession,
    email: str,
    password: str | None,
    name: str | None = None,
    *,
    email_verified: bool = False,
) -> tuple[User, Account]:
    email = email.strip().lower()
    if await auth_repo.get_user_by_email(session, email) is not None:
        raise Conflict("A user with this email already exists", code="email_taken")
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        email_verified=email_verified,
    )
    session.add(user)
    await session.flush()
    account = Account(name=email, kind="personal", personal_user_id=user.id)
    session.add(account)
    await session.flush()
    session.add(Membership(account_id=account.id, user_id=user.id, role="owner"))
    await session.flush()
    return user, account
