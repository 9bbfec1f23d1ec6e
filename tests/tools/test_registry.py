"""The tool layer as agents call it: `build_registry(app).call(app, actor, name, arguments)`,
with no MCP in between."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from chasm.auth import repository as auth_repo
from chasm.auth.actor import Actor
from chasm.kit.errors import Forbidden, NotFound
from chasm.models import SandboxSession
from chasm.tools import TextPart, Tool, ToolRegistry, ToolResult, UnknownTool, build_registry
from chasm.tools.base import MAX_RESULT_BYTES


async def owner_actor(app: FastAPI, scopes: set[str] | None = None) -> Actor:
    async with app.state.sessionmaker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
    return Actor("user", owner.id, account, "owner", frozenset(scopes) if scopes is not None else None)


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def tool(name: str, handler: Any, scope: str = "sessions.read") -> Tool[Any]:
    return Tool(
        name=name, description=name, args=NoArgs, handler=handler, scope=lambda _a: scope, scopes=(scope,)
    )


async def test_unknown_tools_and_missing_scopes_are_the_callers_mistake(app: FastAPI) -> None:
    registry = build_registry(app)
    with pytest.raises(UnknownTool):
        await registry.call(app, await owner_actor(app), "nope", {})
    reader = await owner_actor(app, {"sessions.read"})
    with pytest.raises(Forbidden) as refused:
        await registry.call(app, reader, "terminal", {"command": "true"})
    assert refused.value.code == "insufficient_scope" and "exec.write" in refused.value.message
    with pytest.raises(Forbidden):  # checked before the arguments are parsed
        await registry.call(app, reader, "terminal", {"what": "ever"})
    files_reader = await owner_actor(app, {"files.read"})
    with pytest.raises(Forbidden) as refused:
        await registry.call(
            app,
            files_reader,
            "terminal",
            {"session_id": "s", "operation": "apply_edit", "path": "a", "search": "x", "replace": "y"},
        )
    assert "files.write" in refused.value.message


async def test_a_failing_tool_rolls_back_and_answers_an_error_result(app: FastAPI) -> None:
    written: list[Any] = []

    async def half_done(ctx: Any, _args: NoArgs) -> ToolResult:
        row = SandboxSession(
            account_id=ctx.actor.account_id, session_type="sandbox", status="creating", driver="x"
        )
        ctx.db.add(row)
        await ctx.db.flush()
        written.append(row.id)
        raise NotFound("gone midway", code="gone")

    async def huge(_ctx: Any, _args: NoArgs) -> ToolResult:
        return ToolResult([TextPart("x" * (MAX_RESULT_BYTES + 1))])

    registry = ToolRegistry([tool("half_done", half_done), tool("huge", huge)])
    actor = await owner_actor(app)
    result = await registry.call(app, actor, "half_done", {})
    assert result.is_error and result.data == {"error": {"code": "gone", "message": "gone midway"}}
    async with app.state.sessionmaker() as db:
        assert await db.get(SandboxSession, written[0]) is None  # rolled back
    too_big = await registry.call(app, actor, "huge", {})
    assert too_big.is_error and too_big.data is not None
    assert too_big.data["error"]["code"] == "result_too_large"
    invalid = await registry.call(app, actor, "huge", {"unexpected": 1})
    assert invalid.is_error and invalid.data is not None
    assert invalid.data["error"]["code"] == "invalid_arguments"


@pytest.mark.sandbox
async def test_agents_call_the_same_terminal(app: FastAPI) -> None:
    registry = build_registry(app)
    actor = await owner_actor(app, {"exec.write"})
    result = await registry.call(app, actor, "terminal", {"command": "printf agent"})
    assert result.is_error is False and result.data is not None
    assert result.data["output"] == "agent" and result.data["exit_code"] == 0
    assert result.data["session_id"] in result.content[0].text  # type: ignore[union-attr]


def test_every_tool_names_scopes_of_the_platform(app: FastAPI) -> None:
    """/v1/mcp itself only authenticates (tools/list needs any valid key); each tool call is checked
    against the tool's scope, so every tool must name real scopes."""
    from chasm.auth.scopes import SCOPES
    from chasm.tools.browser import BROWSER

    for t in [*build_registry(app), BROWSER]:
        assert t.scopes and set(t.scopes) <= set(SCOPES), t.name
