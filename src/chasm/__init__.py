"""Chasm: a self-hosted platform for AI agents and a chat session manager."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chasm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
