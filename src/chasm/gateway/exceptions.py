from __future__ import annotations

from chasm.kit.errors import BadRequest, ChasmError


class BadGateway(ChasmError):
    status_code = 502
    code = "bad_gateway"


class InvalidPort(BadRequest):
    code = "invalid_port"
