"""Every operation of every surface declares what its success looks like in the served OpenAPI:
a schema, a 204, or a redirect. A client generated from it knows every answer."""

from __future__ import annotations

from fastapi import FastAPI


def test_every_operation_has_a_typed_success(app: FastAPI) -> None:
    untyped = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            successes = {c: r for c, r in operation.get("responses", {}).items() if c[0] in "23"}
            typed = any(
                code in ("204", "302") or any(b.get("schema") for b in answer.get("content", {}).values())
                for code, answer in successes.items()
            )
            if not typed:
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []
