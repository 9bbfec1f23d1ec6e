"""Credentials never reach the logs: query values such as `?token=` are redacted in log records.

uvicorn's access log prints each request's path with its query string, and the gateway and the
PTY accept a session token as `?token=` (browsers cannot set headers on WebSockets); OAuth
callbacks carry `code=` and `state=`. `RedactQuery` rewrites every string argument of a record
(and its message) before any handler formats it.
"""

from __future__ import annotations

import logging
import re

SENSITIVE_NAMES = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "key",
    "api_key",
    "apikey",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "code",
    "code_verifier",
    "state",
    "signature",
    "sig",
)
REDACTED = "[redacted]"
_NAMES = "|".join(re.escape(n) for n in SENSITIVE_NAMES)
_QUERY_VALUE = re.compile(r"(?P<lead>[?&;](?:" + _NAMES + r")=)[^&;#\s\"']*", re.IGNORECASE)
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """`text` with the values of sensitive query parameters replaced by [redacted]."""
    if "=" not in text:
        return text
    return _QUERY_VALUE.sub(lambda m: m.group("lead") + REDACTED, text)


class RedactQuery(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's loggers, once per process."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuery) for f in logger.filters):
            logger.addFilter(RedactQuery())
