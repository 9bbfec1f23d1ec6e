"""The tool layer's vocabulary: a tool, what it is given, what it answers, and the registry.

A tool is a name, a description, a pydantic model of its input (whose JSON Schema is what clients
see), the scope a call needs (which may depend on the arguments), and an async handler
`handler(ctx, args) -> ToolResult`. The MCP endpoint and agents call tools through
`ToolRegistry.call`, which checks the scope and validates the arguments first; a handler raises
`ChasmError` (or a `ToolError`) and the registry turns it into an error result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.kit.errors import ChasmError, InsufficientScope

ArgsT = TypeVar("ArgsT", bound=BaseModel)

# A tool's answer is bounded: a model's context is the real limit. Text and images separately
# (a screenshot is worth its bytes; a megabyte of text rarely is).
MAX_RESULT_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    mime_type: str = "image/png"
    type: Literal["image"] = "image"


ContentPart = TextPart | ImagePart


@dataclass
class ToolResult:
    """What a tool answers: content parts for the model, `data` (the same facts as JSON) for
    programs, and `is_error` for a failure the caller should see and may recover from."""

    content: list[ContentPart]
    data: dict[str, Any] | None = None
    is_error: bool = False

    @classmethod
    def of(cls, data: dict[str, Any], *extra: ContentPart) -> ToolResult:
        """A success whose text is `data` as JSON (what MCP asks beside structured content)."""
        return cls([TextPart(json.dumps(data, ensure_ascii=False, default=str)), *extra], data)

    @classmethod
    def error(cls, code: str, message: str) -> ToolResult:
        data = {"error": {"code": code, "message": message}}
        return cls([TextPart(f"{code}: {message}")], data, is_error=True)

    def text_bytes(self) -> int:
        return sum(len(p.text.encode()) for p in self.content if isinstance(p, TextPart))

    def image_bytes(self) -> int:
        return sum(len(p.data) for p in self.content if isinstance(p, ImagePart))


class ToolError(ChasmError):
    """A tool's refusal of a call (bad target, ambiguous edit, oversized result)."""

    status_code = 400
    code = "tool_error"


class UnknownTool(ChasmError):
    status_code = 404
    code = "unknown_tool"


@dataclass
class ToolContext:
    """What a handler works with: the database session of this call (committed by the caller when
    the handler returns, rolled back when it raises), the acting principal, and the application
    (its `state` holds the sandbox runtime, settings, and the browser service when there is one)."""

    db: AsyncSession
    actor: Actor
    app: Any
    base_url: str = "http://127.0.0.1:8787"
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[ToolContext, ArgsT], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Tool(Generic[ArgsT]):
    name: str
    description: str
    args: type[ArgsT]
    handler: Handler[ArgsT]
    # The scope a call needs, from its validated arguments (a file read needs less than a command).
    scope: Callable[[ArgsT], str]
    # Every scope `scope` may answer: a caller holding none of them is refused before the
    # arguments are even read.
    scopes: tuple[str, ...]
    title: str | None = None
    read_only: bool = False

    def input_schema(self) -> dict[str, Any]:
        return self.args.model_json_schema()

    def parse(self, arguments: dict[str, Any] | None) -> ArgsT:
        return self.args.model_validate(arguments or {})


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class ToolRegistry:
    """The tools one caller may use, by name; the same registry backs MCP and agents."""

    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool[Any]) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is registered twice")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool[Any]:
        tool = self._tools.get(name)
        if tool is None:
            raise UnknownTool(f"Unknown tool '{name}'; available: {', '.join(self._tools)}")
        return tool

    def __iter__(self) -> Any:
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return list(self._tools)

    def authorize(self, actor: Actor, name: str, arguments: dict[str, Any] | None) -> tuple[Tool[Any], Any]:
        """The tool and its parsed arguments, once the caller may make this call.

        Raises UnknownTool, ToolError (arguments that do not validate) or Forbidden (scope)."""
        tool = self.get(name)
        if not any(actor.has_scope(s) for s in tool.scopes):
            raise InsufficientScope(f"This key lacks the '{tool.scopes[0]}' scope needed by '{name}'")
        try:
            args = tool.parse(arguments)
        except ValidationError as exc:
            message = f"invalid arguments for '{name}': {_validation_message(exc)}"
            raise ToolError(message, code="invalid_arguments") from None
        needed = tool.scope(args)
        if not actor.has_scope(needed):
            raise InsufficientScope(f"This key lacks the '{needed}' scope needed by '{name}'")
        return tool, args

    async def call(
        self,
        app: Any,
        actor: Actor,
        name: str,
        arguments: dict[str, Any] | None,
        *,
        base_url: str | None = None,
    ) -> ToolResult:
        """Authorize and run one call in its own database transaction: committed when the tool
        succeeds, rolled back when it fails (its failure is then the error result, as are
        arguments that do not validate: a model can correct both). UnknownTool and Forbidden
        propagate: they are the caller's mistake, not the tool's."""
        try:
            tool, args = self.authorize(actor, name, arguments)
        except ToolError as exc:
            return ToolResult.error(exc.code, exc.message)
        async with app.state.sessionmaker() as db:
            ctx = ToolContext(db, actor, app, base_url or _base_url(app))
            try:
                result = await tool.handler(ctx, args)
            except ChasmError as exc:
                await db.rollback()
                return ToolResult.error(exc.code, exc.message)
            except BaseException:
                await db.rollback()
                raise
            if result.is_error:
                await db.rollback()
            else:
                await db.commit()
        if result.text_bytes() > MAX_RESULT_BYTES:
            return ToolResult.error(
                "result_too_large",
                f"the result of '{tool.name}' is {result.text_bytes()} bytes of text, over the "
                f"{MAX_RESULT_BYTES} byte limit; ask for less (a smaller file, a narrower listing, "
                "fewer messages)",
            )
        if result.image_bytes() > MAX_IMAGE_BYTES:
            return ToolResult.error(
                "result_too_large",
                f"the images of '{tool.name}' are {result.image_bytes()} bytes, over the {MAX_IMAGE_BYTES} "
                "byte limit; take the viewport rather than the full page",
            )
        return result


def _base_url(app: Any) -> str:
    settings = app.state.settings
    return str(settings.base_url or f"http://{settings.host}:{settings.port}")
