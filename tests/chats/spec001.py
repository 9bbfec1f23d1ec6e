"""Spec 001's response schemas (components/schemas of 001_*.txt), written out as JSON Schema, and a
small validator with OpenAPI 3.0's rules: no field is nullable unless it says so (none does), extra
properties are allowed, `format` uuid / date-time / date are checked.

The spec file's YAML has lost its indentation, so it cannot be loaded; these are copied from it
field by field (same names, types, enums, required lists)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SCHEMAS: dict[str, dict[str, Any]] = {}
SCHEMAS["Error"] = obj(["error", "message"], error=STR, message=STR, code=STR)
SCHEMAS["HealthResponse"] = obj(
    status={"type": "string", "enum": ["healthy", "degraded", "unhealthy"]}, version=STR, uptime_seconds=INT
)
SCHEMAS["SystemInfo"] = obj(
    version=STR, database_size_bytes=INT, session_count=INT, workspace_count=INT, provider_count=INT
)
SCHEMAS["Workspace"] = obj(
    id=UUID,
    name=STR,
    path=STR,
    provider=STR,
    session_count=INT,
    last_harvested=TIME,
    created_at=TIME,
    updated_at=TIME,
)
SCHEMAS["Session"] = obj(
    id=STR,
    title=STR,
    workspace_id=UUID,
    provider=STR,
    model=STR,
    message_count=INT,
    token_count=INT,
    archived=BOOL,
    tags=array(STR),
    created_at=TIME,
    updated_at=TIME,
)
SCHEMAS["SessionList"] = obj(sessions=array(SCHEMAS["Session"]), total=INT, limit=INT, offset=INT)
SCHEMAS["Message"] = obj(
    id=STR,
    session_id=STR,
    role={"type": "string", "enum": ["user", "assistant", "system"]},
    content=STR,
    model=STR,
    token_count=INT,
    created_at=TIME,
)
SCHEMAS["Provider"] = obj(
    id=STR,
    name=STR,
    type={
        "type": "string",
        "enum": [
            "copilot",
            "cursor",
            "chatgpt",
            "claude",
            "ollama",
            "lm-studio",
            "openai",
            "anthropic",
            "custom",
        ],
    },
    enabled=BOOL,
    base_url=STR,
    models=array(STR),
)
SCHEMAS["ProviderHealth"] = obj(healthy=BOOL, latency_ms=INT, last_checked=TIME, error=STR)
SCHEMAS["Model"] = obj(id=STR, name=STR, context_length=INT, capabilities=array(STR))
SCHEMAS["ChatCompletionResponse"] = obj(
    id=STR,
    object=STR,
    created=INT,
    model=STR,
    choices=array(
        obj(
            index=INT,
            message=obj(role=STR, content=STR),
            finish_reason=STR,
        )
    ),
    usage=obj(prompt_tokens=INT, completion_tokens=INT, total_tokens=INT),
)
SCHEMAS["SearchResults"] = obj(
    sessions=array(SCHEMAS["Session"]), messages=array(SCHEMAS["Message"]), total=INT
)
SCHEMAS["StatsOverview"] = obj(
    total_sessions=INT,
    total_messages=INT,
    total_tokens=INT,
    active_providers=INT,
    workspaces=INT,
    sessions_today=INT,
    messages_today=INT,
)
SCHEMAS["ProviderStats"] = obj(provider=STR, session_count=INT, message_count=INT, token_count=INT)
SCHEMAS["TimelineStats"] = obj(
    date={"type": "string", "format": "date"}, sessions=INT, messages=INT, tokens=INT
)
SCHEMAS["HarvestResponse"] = obj(
    sessions_count=INT, messages_count=INT, providers_scanned=array(STR), errors=array(STR)
)
SCHEMAS["Settings"] = obj(
    theme={"type": "string", "enum": ["light", "dark", "system"]},
    auto_harvest=BOOL,
    harvest_interval_minutes=INT,
    sync_enabled=BOOL,
    sync_provider={"type": "string", "enum": ["local", "s3", "azure", "gcs", "webdav"]},
    encryption_enabled=BOOL,
    telemetry_enabled=BOOL,
)
# 001 declares `type: object` and nothing more for the JSON export.
SCHEMAS["Export"] = {"type": "object", "properties": {}, "required": []}

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every way `value` breaks `schema` (empty: it conforms)."""
    kind = schema["type"]
    if isinstance(value, bool) and kind in ("integer", "number"):
        return [f"{where}: boolean where {kind} expected"]
    if not isinstance(value, _TYPES[kind]):
        return [f"{where}: {type(value).__name__} {value!r:.60} where {kind} expected"]
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    fmt = schema.get("format")
    if fmt is not None and not _format_ok(value, fmt):
        found.append(f"{where}: {value!r} is not a {fmt}")
    if kind == "object":
        found += [f"{where}: missing {key}" for key in schema["required"] if key not in value]
        for key, sub in schema["properties"].items():
            if key in value:
                found += errors(value[key], sub, f"{where}.{key}")
    if kind == "array":
        for i, item in enumerate(value):
            found += errors(item, schema["items"], f"{where}[{i}]")
    return found


def _format_ok(value: str, fmt: str) -> bool:
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return "T" in value
        elif fmt == "date":
            date.fromisoformat(value)
            return bool(_ISO_DATE.match(value))
    except ValueError:
        return False
    return True
