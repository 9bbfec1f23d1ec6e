"""Routers in one style: the served OpenAPI groups every operation under exactly one tag of
`chasm.kit.api_tags.Tag` (spec 001's tags on the chat surfaces, spec 002's sections on the
platform), and every router is declared the same way (read from the source, no import runs)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from fastapi.routing import APIRoute, APIWebSocketRoute

from chasm.app import PLATFORM_ROUTERS, create_app
from chasm.config import Settings
from chasm.kit.api_tags import Tag
from source_ast import parse

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "chasm"
SPEC_001_TAGS = [
    "Health",
    "System",
    "Workspaces",
    "Sessions",
    "Providers",
    "Agents",
    "Swarms",
    "Chat",
    "Search",
    "Statistics",
    "Settings",
]
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "api_route", "websocket", "route"}


def test_every_operation_has_one_known_tag(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, secret_key="openapi-tags", bootstrap_admin=False))
    document = app.openapi()
    listed = [tag["name"] for tag in document["tags"]]
    assert listed == [tag.value for tag in Tag]
    assert listed[: len(SPEC_001_TAGS)] == SPEC_001_TAGS  # 001's own names, in its order
    wrong = [
        f"{method.upper()} {path}: {operation.get('tags')}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if len(operation.get("tags", [])) != 1 or operation["tags"][0] not in listed
    ]
    assert wrong == []
    # 001's routes keep 001's tags on both chat surfaces.
    chat = document["paths"]
    assert chat["/api/v1/health"]["get"]["tags"] == ["Health"]
    assert chat["/api/v1/settings"]["put"]["tags"] == ["Settings"]
    assert chat["/api/v1/harvest"]["post"]["tags"] == chat["/api/harvest"]["post"]["tags"] == ["Sessions"]
    assert chat["/api/v1/workspaces"]["get"]["tags"] == ["Workspaces"]
    assert chat["/v1/workspaces"]["get"]["tags"] == ["Sandbox Workspaces"]


def _calls(name: str) -> Iterator[tuple[Path, ast.Call]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                yield path, node


def _is_tag(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Tag"
        and node.attr in Tag.__members__
    )


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"


def test_routers_declare_one_tag_and_routes_none() -> None:
    wrong = []
    for path, call in _calls("APIRouter"):
        if path.name == "surface.py" and path.parent.name == "kit":
            continue  # ChatRouter.build and the fallback: tags come from the ChatRouter
        tags = {k.arg: k.value for k in call.keywords}.get("tags")
        if not (isinstance(tags, ast.List) and len(tags.elts) == 1 and _is_tag(tags.elts[0])):
            wrong.append(f"{_where(path, call)}: APIRouter(..., tags=[Tag.X]) expected")
    for path, call in _calls("ChatRouter"):
        tag = {k.arg: k.value for k in call.keywords}.get("tag")
        if call.args or tag is None or not _is_tag(tag):
            wrong.append(f"{_where(path, call)}: ChatRouter(tag=Tag.X, ...) expected")
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(parse(path)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if not (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in ROUTE_DECORATORS
                ):
                    continue
                keywords = {k.arg: k.value for k in decorator.keywords}
                if "tags" in keywords:
                    wrong.append(f"{_where(path, decorator)}: a route takes its router's tag")
                limits = keywords.get("dependencies")
                if limits is not None and "rate_limited" in ast.unparse(limits):
                    wrong.append(f"{_where(path, decorator)}: rate limits as dependencies=LIMITED")
    assert wrong == []


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def test_platform_routers_declare_their_common_prefix() -> None:
    """A router's `prefix` holds every literal path segment its routes' parents share (`/v1/jobs`
    for /v1/jobs and /v1/jobs/{job_id}); its routes never spell it out again."""
    wrong = []
    for router in PLATFORM_ROUTERS:
        paths = [r.path for r in router.routes if isinstance(r, APIRoute | APIWebSocketRoute)]
        assert paths, router
        parents = [_segments(p)[:-1] for p in paths]
        shared: list[str] = []
        for column in zip(*parents, strict=False):
            if len(set(column)) != 1 or column[0].startswith("{"):
                break
            shared.append(column[0])
        prefix = _segments(router.prefix)
        if prefix[: len(shared)] != shared or len(prefix) < len(shared):
            wrong.append(f"{router.tags} {paths}: prefix {router.prefix!r}, expected '/{'/'.join(shared)}'")
    assert wrong == []
