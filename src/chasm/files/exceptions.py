"""The files API's errors: those of the sandbox floor, which reads and writes the files, and the
upload error it shares with the harvest upload."""

from __future__ import annotations

from chasm.kit.errors import InvalidUpload
from chasm.sandbox.drivers.base import PathNotAllowed
from chasm.sandbox.drivers.base import SandboxFileNotFound as FileNotFoundInSession
from chasm.sandbox.drivers.base import SandboxFileTooLarge as FileTooLarge

__all__ = ["FileNotFoundInSession", "FileTooLarge", "InvalidUpload", "PathNotAllowed"]
