"""The chat library's two surfaces, chosen by router: `/api/v1` answers spec 001's bare schemas and
error object, `/api` spec 003's `{"success", "data"}` envelope. Each chat route is declared once on
a `ChatRouter` (one service call, one payload model) and built into one router per surface; the
routes of a surface's router mark the request (`scope["chasm.surface"]`), so error handlers render
the error in that surface's shape without looking at the URL."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field, create_model
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Scope

from chasm.kit import jsonfast
from chasm.kit.api_tags import Tag
from chasm.kit.error_bodies import ApiError, Error, OpenAIError

SCOPE_KEY = "chasm.surface"
T = TypeVar("T")


class Surface(StrEnum):
    PLATFORM = "platform"  # /v1, /v2, /auth, /s (spec 002)
    V1 = "v1"  # /api/v1 (spec 001)
    API = "api"  # /api (spec 003)
    OPENAI = "openai"  # /api/v1's OpenAI-compatible routes: OpenAI's error body, what its SDKs read


def surface_of(scope: Scope) -> Surface:
    """The surface whose route took the request (the platform's when none did)."""
    return Surface(scope.get(SCOPE_KEY, Surface.PLATFORM))


def routed_surface(scope: Scope) -> Surface:
    """As surface_of, for a request refused before routing (its URL, headers or body too large):
    the surface of the route its path would reach, asked of the app's router."""
    if SCOPE_KEY in scope or "app" not in scope:
        return surface_of(scope)
    path = scope.get("path", "")
    for ctx in route_contexts(scope["app"]):
        if compiled_path(str(ctx.path)).fullmatch(path):
            return getattr(ctx.original_route, "surface", Surface.PLATFORM)
    return Surface.PLATFORM


def route_contexts(app: Any) -> Iterator[RouteContext]:
    return iter_route_contexts(app.router.routes)


@functools.cache
def compiled_path(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


class JSONRequest(Request):
    """A request whose JSON body is read by `kit.jsonfast`: as the json module reads it, several
    times faster (FastAPI reads a JSON body with `Request.json`)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = jsonfast.loads(await self.body())
        return self._json


class SurfaceRoute(APIRoute):
    """A route that marks its requests with its surface before anything else runs (body parsing,
    dependencies), so every error it raises is rendered in that surface's shape. Its handler
    gets the request as a `JSONRequest` (FastAPI's way to change how a route reads requests)."""

    surface: ClassVar[Surface] = Surface.PLATFORM

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        surface = self.surface

        async def marked(request: Request) -> Response:
            request.scope[SCOPE_KEY] = surface
            return await handler(JSONRequest(request.scope, request.receive, request._send))  # noqa: SLF001

        return marked


class V1Route(SurfaceRoute):
    surface = Surface.V1


class ApiRoute(SurfaceRoute):
    surface = Surface.API


class OpenAIRoute(SurfaceRoute):
    surface = Surface.OPENAI


ROUTE_CLASSES: dict[Surface, type[SurfaceRoute]] = {
    Surface.V1: V1Route,
    Surface.API: ApiRoute,
    Surface.OPENAI: OpenAIRoute,
}


# Payloads shared by both surfaces' models


class Envelope(BaseModel, Generic[T]):
    """Spec 003's success envelope (`/api`)."""

    success: Literal[True] = True
    data: T


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int


class PagedEnvelope(Envelope[list[T]], Generic[T]):
    pagination: Pagination


@dataclass
class Page(Generic[T]):
    """A page of a list route: bare items on /api/v1 (001 lists are arrays), items plus
    `pagination` on /api."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass
class NoContent:
    """A DELETE's outcome: 204 on /api/v1 (001), `payload` in the envelope on /api."""

    payload: BaseModel


# Every error a chat route can answer, per surface: the served OpenAPI names the shape really sent
# (and FastAPI's default 422 `detail` shape, never sent here, is left out).
ERROR_RESPONSES: dict[Surface, dict[int | str, dict[str, Any]]] = {
    Surface.V1: {
        "4XX": {"model": Error, "description": "Spec 001 error object (400: invalid parameters or body)"},
        "5XX": {"model": Error, "description": "Spec 001 error object"},
    },
    Surface.API: {
        "4XX": {
            "model": ApiError,
            "description": "Spec 003 error envelope (400: invalid parameters or body)",
        },
        "5XX": {"model": ApiError, "description": "Spec 003 error envelope"},
    },
    Surface.OPENAI: {
        "4XX": {"model": OpenAIError, "description": "OpenAI's error body (400: invalid parameters or body)"},
        "5XX": {"model": OpenAIError, "description": "OpenAI's error body"},
    },
}


@dataclass
class _Declared:
    method: str
    path: str
    endpoint: Callable[..., Any]
    model: Any
    status_code: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    api_model: Any = None
    paged: bool = False
    no_content: bool = False
    v1_surface: Surface = Surface.V1


class ChatRouter:
    """Chat routes declared once and built per surface. `model` is the payload's type: served bare
    on /api/v1, inside `Envelope[model]` on /api. `present_v1` adapts a payload to 001 where the
    two surfaces differ beyond the envelope (role names, for instance)."""

    def __init__(self, *, tag: Tag, present_v1: Callable[[Any], Any] | None = None):
        self.tag = tag
        self.present_v1 = present_v1
        self.declared: list[_Declared] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        model: Any,
        status_code: int = 200,
        api_model: Any = None,
        paged: bool = False,
        no_content: bool = False,
        v1_surface: Surface = Surface.V1,
        **kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`v1_surface=Surface.OPENAI`: an OpenAI-compatible route, whose errors on /api/v1 are
        OpenAI's error body. An endpoint may return a `Response` (a stream): sent as is. The
        route's OpenAPI tag is the router's (chasm.kit.api_tags): a route of another section
        belongs in a router of its own."""
        if "tags" in kwargs:
            raise TypeError(f"{method} {path}: a chat route takes its router's tag, not tags of its own")

        def decorate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
            self.declared.append(
                _Declared(
                    method,
                    path,
                    endpoint,
                    model,
                    status_code,
                    kwargs,
                    api_model,
                    paged,
                    no_content,
                    v1_surface,
                )
            )
            return endpoint

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("DELETE", path, **kw)

    def build(self, surface: Surface) -> APIRouter:
        router = APIRouter(
            tags=[self.tag],
            route_class=ROUTE_CLASSES[surface],
            responses=ERROR_RESPONSES[surface],
        )
        for d in self.declared:
            if d.model is None:  # a file, the same on both surfaces
                router.add_api_route(
                    d.path, d.endpoint, methods=[d.method], status_code=d.status_code, **d.kwargs
                )
            elif surface is Surface.V1:
                self._add_v1(router, d)
            else:
                self._add_api(router, d)
        return router

    def _add_v1(self, router: APIRouter, d: _Declared) -> None:
        present: Callable[[Any], Any] = self.present_v1 or (lambda value: value)
        shape: Callable[[Any], Any]
        if d.no_content:
            status_code, model = 204, None
            shape = lambda value: Response(status_code=204)  # noqa: E731
        elif d.paged:
            status_code, model = d.status_code, spec001_model(list[d.model])  # type: ignore[name-defined]
            shape = lambda value: _spec001_json(present(value.items), status_code)  # noqa: E731
        else:
            status_code, model = d.status_code, spec001_model(d.model)
            shape = lambda value: _spec001_json(present(value), status_code)  # noqa: E731
        kwargs = dict(d.kwargs)
        if d.v1_surface is not Surface.V1:
            kwargs["route_class_override"] = ROUTE_CLASSES[d.v1_surface]
            kwargs["responses"] = {**ERROR_RESPONSES[d.v1_surface], **kwargs.get("responses", {})}
        router.add_api_route(
            d.path,
            _presenting(d.endpoint, shape),
            methods=[d.method],
            status_code=status_code,
            response_model=model,
            response_model_exclude_none=True,  # 001 fields are never null: absent when unknown
            **kwargs,
        )

    def _add_api(self, router: APIRouter, d: _Declared) -> None:
        payload = d.api_model or d.model
        if d.paged:
            model: Any = PagedEnvelope[payload]  # type: ignore[valid-type]

            def shape(value: Any) -> Any:
                return model(
                    data=value.items,
                    pagination=Pagination(total=value.total, limit=value.limit, offset=value.offset),
                )
        else:
            model = Envelope[payload]  # type: ignore[valid-type]

            def shape(value: Any) -> Any:
                return model(data=value.payload if isinstance(value, NoContent) else value)

        router.add_api_route(
            d.path,
            _presenting(d.endpoint, shape),
            methods=[d.method],
            status_code=d.status_code,
            response_model=model,
            **d.kwargs,
        )


# Spec 001's models (/api/v1): 001 declares no field nullable, so a payload model's nullable fields
# become optional non-null ones, left out when unknown. The variant is served under the model's
# `title` where that is its 001 name (ChatRead: "Session"), else as `<Model>V1`.
_SPEC001: dict[Any, Any] = {}


def spec001_model(tp: Any) -> Any:
    """The /api/v1 variant of a payload type (the type itself when nothing in it is nullable)."""
    if tp in _SPEC001:
        return _SPEC001[tp]
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, dict):
        inner = tuple(spec001_model(a) for a in args)
        result: Any = origin[inner] if inner != args else tp
    elif origin is Annotated:  # a discriminated union, for instance: its members' variants
        inner = spec001_model(args[0])
        result = Annotated[inner, *tp.__metadata__] if inner is not args[0] else tp
    elif origin in (Union, UnionType):
        members = tuple(spec001_model(a) for a in args)
        result = Union[members] if members != args else tp  # noqa: UP007
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        result = _model_variant(tp)
    else:
        result = tp
    _SPEC001[tp] = result
    return result


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _model_variant(model: type[BaseModel]) -> type[BaseModel]:
    # A model may narrow a field's type on /api/v1 (`__spec001_types__`), where its presenter
    # maps the values (Message.role: a `tool` message is sent as `assistant`).
    overrides: dict[str, Any] = getattr(model, "__spec001_types__", {})
    fields: dict[str, Any] = {}
    changed = False
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        args = get_args(annotation)
        nullable = get_origin(annotation) in (Union, UnionType) and type(None) in args
        if nullable:
            rest = [a for a in args if a is not type(None)]
            annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        inner = overrides.get(name) or spec001_model(annotation)
        changed = changed or nullable or inner is not annotation
        if info.metadata:  # constraints and schema overrides (a date-time format, for instance)
            inner = Annotated[inner, *info.metadata]
        extra: dict[str, Any]
        if nullable:
            extra = {"default": None, "json_schema_extra": _drop_default}
        elif info.default_factory is not None:
            extra = {"default_factory": info.default_factory}
        else:
            extra = {"default": ... if info.is_required() else info.default}
        fields[name] = (inner, Field(description=info.description, **extra))
    title = model.model_config.get("title")
    if not changed and not (title and title != model.__name__):
        return model
    name = title if title and title != model.__name__ else f"{model.__name__}V1"
    variant: type[BaseModel] = create_model(
        name, __doc__=model.__doc__, __module__=model.__module__, **fields
    )
    return variant


def _spec001_json(value: Any, status_code: int) -> Response:
    """A payload as /api/v1 sends it: its JSON without null fields. Serialized here rather than
    re-validated against the variant model: the payload model already validated it, and the
    variant differs from it only by leaving nulls out (tests/chats/test_spec001_contract.py)."""
    return Response(to_json(value, exclude_none=True), status_code=status_code, media_type="application/json")


def _presenting(endpoint: Callable[..., Any], shape: Callable[[Any], Any]) -> Callable[..., Any]:
    """The endpoint with its result shaped for a surface; FastAPI sees the endpoint's own
    parameters (annotations resolved in the endpoint's module)."""

    @functools.wraps(endpoint)
    async def shaped(*args: Any, **kwargs: Any) -> Any:
        value = await endpoint(*args, **kwargs)
        return value if isinstance(value, Response) else shape(value)

    shaped.__signature__ = inspect.signature(endpoint, eval_str=True).replace(  # type: ignore[attr-defined]
        return_annotation=inspect.Signature.empty
    )
    return shaped


def fallback_router(surface: Surface) -> APIRouter:
    """Last route of a surface: a path no route has answers 404 (or 405 when another method has
    a route) in the surface's shape."""
    router = APIRouter(route_class=ROUTE_CLASSES[surface])

    async def no_route(request: Request) -> None:
        from chasm.kit.handlers import allowed_methods

        allowed = allowed_methods(request)
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)

    no_route.chasm_fallback = True  # type: ignore[attr-defined]
    router.add_api_route(
        "/{path:path}",
        no_route,
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    return router
