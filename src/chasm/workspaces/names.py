"""Workspace name rules: 1-64 characters, unique per account ignoring case, generated when absent."""

from __future__ import annotations

import re
import secrets

from chasm.kit.ids import parse_uuid
from chasm.workspaces.exceptions import InvalidWorkspaceName

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_ADJECTIVES = ("amber", "brisk", "calm", "deft", "eager", "fond", "glad", "hale", "keen", "lucid", "merry")
_NOUNS = ("anchor", "brook", "cedar", "delta", "ember", "fjord", "grove", "harbor", "isle", "juniper")


def validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidWorkspaceName("Workspace name must not be empty")
    if len(name) > 64:
        raise InvalidWorkspaceName("Workspace name must be at most 64 characters")
    if not NAME_RE.match(name):
        raise InvalidWorkspaceName(
            "Workspace name may contain letters, digits, spaces, dots, underscores and dashes, "
            "starting with a letter or digit"
        )
    if parse_uuid(name) is not None:
        raise InvalidWorkspaceName("Workspace name must not be a UUID (UUIDs select workspaces by id)")
    return name


def generate_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.token_hex(2)}"
