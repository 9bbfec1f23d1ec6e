"""The Python client of Chasm's HTTP API."""

from chasm.client.http import ChasmAPIError, ChasmClient, CommandEvent

__all__ = ["ChasmAPIError", "ChasmClient", "CommandEvent"]
