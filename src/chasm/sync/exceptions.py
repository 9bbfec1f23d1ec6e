"""Errors of sync. Each is raised before the local library changes, or leaves it as it was."""

from __future__ import annotations

from chasm.kit.errors import ChasmError


class SyncNotConfigured(ChasmError):
    status_code = 409
    code = "sync_not_configured"


class SyncBackendUnreachable(ChasmError):
    status_code = 502
    code = "sync_backend_unreachable"


class SyncWrongKey(ChasmError):
    status_code = 409
    code = "sync_wrong_key"


class SyncEncryptionMismatch(ChasmError):
    status_code = 409
    code = "sync_encryption_mismatch"


class SyncCorrupt(ChasmError):
    status_code = 502
    code = "sync_remote_corrupt"
