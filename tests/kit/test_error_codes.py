"""One class per error code: a code means one thing, and code that catches it catches all of it."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import chasm
from chasm.kit.errors import ChasmError

# The same word for two resources of two surfaces: 001's chat "sessions" and chat "workspaces"
# (/api) versus 002's sandbox sessions and workspace disks (/v1). Each spec names its own code.
TWO_SURFACES = {
    "session_not_found": {"chasm.chats.exceptions.ChatNotFound", "chasm.sessions.exceptions.SessionNotFound"},
    "workspace_not_found": {
        "chasm.chats.exceptions.WorkspaceNotFound",
        "chasm.workspaces.exceptions.WorkspaceNotFound",
    },
}


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_every_error_code_has_one_defining_class() -> None:
    for module in pkgutil.walk_packages(chasm.__path__, "chasm."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    defining: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(ChasmError):
        if "code" in vars(cls):
            defining[cls.code].add(f"{cls.__module__}.{cls.__qualname__}")
    twice = {code: names for code, names in defining.items() if len(names) > 1}
    assert twice == TWO_SURFACES, "a code defined by two classes: subclass the first one instead"
