"""Field types of request bodies that refuse what pydantic's lax mode would coerce: `0` or "yes"
for a boolean, a number of seconds for a date. A client that sends those has a bug; it hears so."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, StrictBool


def _not_a_number(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("give a date and time as an ISO 8601 string with a zone, e.g. 2026-12-06T12:00:00Z")
    return value


JsonBool = StrictBool
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
