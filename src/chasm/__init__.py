"""Chasm: a self-hosted platform for AI agents and a chat session manager."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chasm")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0"


def __getattr__(name: str) -> str:
    # `chasm.__version__` read when asked: importlib.metadata and the look-up through the installed
    # distributions are a share of every CLI call's start that most commands never use.
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
