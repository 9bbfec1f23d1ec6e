from __future__ import annotations

from chasm.kit.errors import ChasmError


class UnknownProvider(ChasmError):
    status_code = 400
    code = "unknown_provider"


class HarvestFailed(ChasmError):
    status_code = 500
    code = "harvest_failed"
