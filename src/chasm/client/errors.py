"""The client's error, apart from the HTTP machinery: a command line can name it without importing
httpx."""

from __future__ import annotations


class ChasmAPIError(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
