"""Session ids in the remote commands, as git takes commits: the full id, or a unique prefix of it
(at least MIN_PREFIX hex digits, dashes ignored), so the first characters a listing shows are
enough. The local chat commands do the same for chat ids (`chats.service.resolve_chat_id`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from chasm.client.sync import Chasm

MIN_PREFIX = 4
PAGE = 500
HEX = frozenset("0123456789abcdef")


class IdPrefixError(Exception):
    pass


def prefix_of(text: str) -> str | None:
    """The hex prefix `text` stands for, or None when it is a full id or no prefix at all."""
    value = text.strip().lower()
    try:
        uuid.UUID(value)
        return None
    except ValueError:
        pass
    digits = value.replace("-", "")
    if MIN_PREFIX <= len(digits) <= 32 and set(digits) <= HEX:
        return digits
    return None


def match_prefix(text: str, ids: Iterable[str], what: str = "session") -> str:
    """The one id of `ids` that starts with the prefix `text`; IdPrefixError when none or several do."""
    prefix = prefix_of(text)
    if prefix is None:
        return text
    found = sorted({i for i in ids if i.replace("-", "").lower().startswith(prefix)})
    if not found:
        raise IdPrefixError(f"no {what} id starts with '{text}'")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise IdPrefixError(
            f"'{text}' is ambiguous: it begins {len(found)} {what} ids ({shown}); give more of it"
        )
    return found[0]


def _session_ids(client: Chasm, session_type: str) -> Iterable[str]:
    offset = 0
    while True:
        page = client.sessions.list(session_type=session_type, limit=PAGE, offset=offset)
        yield from (item.id for item in page.items)
        if not page.has_more:
            return
        offset = page.offset + len(page.items)


def resolve_session(client: Chasm, text: str, session_type: str) -> str:
    """A full session id from an id or a unique prefix of one (of the account's `session_type`
    sessions); a CLI error line and exit 1 when the prefix matches none or several. Anything that
    is not a hex prefix is passed on as given (the server then answers for it)."""
    if prefix_of(text) is None:
        return text
    try:
        return match_prefix(text, _session_ids(client, session_type), f"{session_type} session")
    except IdPrefixError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
