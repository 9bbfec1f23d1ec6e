"""Timestamps as tools write them (ISO-8601 text, epoch seconds, milliseconds or microseconds, as
numbers or digit strings), as aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from chasm.harvest.model import ParsedMessage

# Epoch values above this are milliseconds (year 2286 in seconds)...
_MS_THRESHOLD = 10_000_000_000
# ...and above this microseconds (year 5138 in milliseconds; today in µs is about 1.7e15).
_US_THRESHOLD = 100_000_000_000_000
_fromisoformat = datetime.fromisoformat


def to_utc(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string (Z or an offset; naive means UTC), epoch
    seconds / ms / µs (a positive number or digit string) or a datetime; None for anything else."""
    if value.__class__ is str:  # the common case first: one call per record
        try:
            parsed = _fromisoformat(value)  # 3.11 reads "...Z" too
        except ValueError:
            return _from_text(value)
        return _as_utc(parsed)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, str):  # a str subclass
        return to_utc(str(value))
    return None


def _as_utc(parsed: datetime) -> datetime:
    tz = parsed.tzinfo
    if tz is UTC:
        return parsed
    return parsed.replace(tzinfo=UTC) if tz is None else parsed.astimezone(UTC)


def _from_text(value: str) -> datetime | None:
    """A string that `fromisoformat` refused as it was: padded ISO-8601, or an epoch number."""
    text = value.strip()
    if not text:
        return None
    if len(text) != len(value):  # padded: `fromisoformat` may take it now
        try:
            return _as_utc(_fromisoformat(text))
        except ValueError:
            pass
    if not (text[0].isdigit() or text[0] in "-."):
        return None
    try:
        return _from_epoch(float(text))
    except ValueError:
        return None


def _from_epoch(number: float) -> datetime | None:
    if number <= 0:
        return None
    if number > _US_THRESHOLD:
        number /= 1_000_000
    elif number > _MS_THRESHOLD:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def time_bounds(messages: Iterable[ParsedMessage]) -> tuple[datetime | None, datetime | None]:
    """The first and last message times (None when no message has one)."""
    first = last = None
    for m in messages:
        ts = m.timestamp
        if ts is None:
            continue
        if first is None or ts < first:
            first = ts
        if last is None or ts > last:
            last = ts
    return first, last
