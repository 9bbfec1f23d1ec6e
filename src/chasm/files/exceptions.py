from __future__ import annotations

from chasm.kit.errors import BadRequest, NotFound, PayloadTooLarge


class PathNotAllowed(BadRequest):
    code = "path_not_allowed"


class InvalidUpload(BadRequest):
    code = "invalid_upload"


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"


class FileNotFoundInSession(NotFound):
    code = "file_not_found"
