"""The served OpenAPI of the platform surface (/v1, /auth) names the errors its routes answer, in
the shape they are really sent (`{"error": {"code", "message", "details"?}}`), instead of only
FastAPI's 422 `detail` shape, which is never sent."""

from __future__ import annotations

from typing import Any

PLATFORM_PREFIXES = ("/v1", "/auth")
ERROR_SCHEMA = "PlatformError"
MUTATIONS = ("post", "put", "patch", "delete")

_ERROR_COMPONENT = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable code"},
                "message": {"type": "string"},
                "details": {"description": "what exactly was wrong (validation errors list each field)"},
            },
        }
    },
}

_WHEN = {
    "400": "Bad request: body is not valid JSON, or the request cannot be carried out as given",
    "401": "Missing, invalid, expired or revoked credentials",
    "403": "The key lacks the route's scope, the account refuses it, or a quota is reached",
    "404": "No such resource in the active account (another account's resource is a 404 too)",
    "409": "Conflicts with the resource's current state (a name taken, a session attached, ...)",
    "413": "The body exceeds the size limit",
    "422": "A field is missing or invalid (details lists each)",
    "429": "Rate limited or a rate quota reached (Retry-After says when to try again)",
}


def _error(status: str) -> dict[str, Any]:
    return {
        "description": _WHEN[status],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
    }


def document_platform_errors(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = _ERROR_COMPONENT
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(PLATFORM_PREFIXES):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            answers = ["401", "403", "422"]
            if "{" in path:
                answers.append("404")
            if "requestBody" in operation:
                answers += ["400", "413"]
            if method in MUTATIONS:
                answers += ["409", "429"]
            responses = operation.setdefault("responses", {})
            for status in answers:
                responses[status] = _error(status)
    return schema
