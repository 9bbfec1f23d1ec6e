"""Errors of the system domain."""

from __future__ import annotations

from chasm.kit.errors import Conflict


class DatabaseBusy(Conflict):
    code = "database_busy"
