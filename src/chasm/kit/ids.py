"""Identifiers: UUIDs everywhere, parsed leniently from user input."""

from __future__ import annotations

import uuid


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def parse_uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
    """The UUID in value, or None when it is not one (so callers can fall back to a name)."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None
