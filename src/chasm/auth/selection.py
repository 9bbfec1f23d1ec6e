"""Which account a user acts in: shared by the request dependencies and the local command line
(which needs no FastAPI)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth import repository as repo
from chasm.kit.errors import NotFound
from chasm.kit.ids import parse_uuid
from chasm.models import Account


async def account_for_user(db: AsyncSession, user_id: uuid.UUID, selector: str | None) -> tuple[Account, str]:
    """The account a user selects (id, exact name, or personal) and their role there; 404 otherwise."""
    if selector is None or selector.strip().lower() == "personal":
        account = await repo.personal_account(db, user_id)
        if account is None:
            raise NotFound("Personal account not found", code="account_not_found")
        return account, "owner"
    selector = selector.strip()
    candidates: list[Account] = []
    account_id = parse_uuid(selector)
    if account_id is not None:
        found = await repo.get_account(db, account_id)
        if found is not None:
            candidates = [found]
    if not candidates:
        candidates = await repo.member_accounts_named(db, user_id, selector)
    for account in candidates:
        member = await repo.membership(db, account.id, user_id)
        if member is not None:
            return account, member.role
    raise NotFound(f"Account '{selector}' not found or not accessible", code="account_not_found")
