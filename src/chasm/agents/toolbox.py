"""An agent's tools: the shared tool layer (`chasm.tools`, the one MCP serves) seen by a model.

Sandbox tools (`terminal`, `read_file`, `write_file`, `apply_edit`, `list_files`) are the
registry's `terminal` bound to the run's workspace: created on first use, its session started by
the terminal tool and ended when the run ends. `search_chats`, `read_chat` and `browser` are the
registry's tools as they are. A call the model gets wrong (unknown tool, arguments that are not
JSON or do not validate, a refusal) is answered as an error result the model can correct.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chasm.agents.claims import claims_of, key_of
from chasm.auth.actor import Actor
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError, InsufficientScope
from chasm.providers.llm import ToolCall, ToolSpec
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service as sessions
from chasm.tools import ImagePart, TextPart, ToolResult, build_registry
from chasm.tools.web import DEFAULT_MAX_BYTES, MAX_BYTES
from chasm.workspaces import service as workspaces
from chasm.workspaces.exceptions import WorkspaceNotFound
from chasm.workspaces.schemas import WorkspaceCreate

log = logging.getLogger("chasm.agents")


@dataclass
class Outcome:
    """A tool call's result as the model reads it."""

    text: str
    is_error: bool = False


class RunArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, max_length=100_000, description="run by /bin/sh -c in /workspace")
    timeout_ms: int | None = Field(default=None, ge=1, le=3_600_000)
    cwd: str | None = Field(default=None, max_length=4096)


class ReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=4096, description="relative paths are under /workspace")


class WriteArgs(ReadArgs):
    content: str = Field(description="the file's new text")


class EditArgs(ReadArgs):
    search: str = Field(min_length=1, description="the exact text to replace (must occur once)")
    replace: str = Field(description="the text put in its place")


class ListArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(default="/workspace", max_length=4096)
    depth: int = Field(default=2, ge=1, le=10)


# Sandbox tool -> (arguments model, terminal operation, description)
SANDBOX_TOOLS: dict[str, tuple[type[BaseModel], str, str]] = {
    "terminal": (RunArgs, "run", "Run a shell command in your Linux sandbox (working folder /workspace)."),
    "read_file": (ReadArgs, "read_file", "Read a text file of your sandbox."),
    "write_file": (WriteArgs, "write_file", "Write (create or replace) a text file in your sandbox."),
    "apply_edit": (
        EditArgs,
        "apply_edit",
        "Edit a file of your sandbox: replace the one exact occurrence of `search` by `replace`.",
    ),
    "list_files": (ListArgs, "list_files", "List the files of a folder of your sandbox."),
}
LIBRARY_TOOLS = ("search_chats", "read_chat", "browser")


class FetchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=8000, description="an http:// or https:// URL")
    max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, ge=1, le=MAX_BYTES, description="read at most this much of the body"
    )


FETCH_DESCRIPTION = (
    "Fetch an http(s) URL from your sandbox (its network rules apply; the host's own addresses are "
    "blocked): answers the status, final URL, content type and text (HTML reduced to readable text)."
)

ExtraHandler = Callable[[str, dict[str, Any]], Awaitable[Outcome]]  # (call id, arguments)


@dataclass
class ExtraTool:
    """A tool a run adds beside the shared ones (a swarm coordinator's `delegate`)."""

    spec: ToolSpec
    handler: ExtraHandler


def _result_text(result: ToolResult) -> str:
    parts = []
    for part in result.content:
        if isinstance(part, TextPart):
            parts.append(part.text)
        elif isinstance(part, ImagePart):
            parts.append(f"[{part.mime_type} image, {len(part.data)} bytes]")
    return "\n".join(parts)


def _code(result: ToolResult) -> str | None:
    error = (result.data or {}).get("error")
    return error.get("code") if isinstance(error, dict) else None


def _invalid(name: str, exc: ValidationError) -> Outcome:
    where = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    )
    return Outcome(f"invalid_arguments: invalid arguments for '{name}': {where}", True)


@dataclass
class Toolbox:
    app: Any
    actor: Actor
    names: list[str]
    workspace: str | None
    extra: dict[str, ExtraTool] = field(default_factory=dict)
    owner: str = ""  # who claims the workspace's sandbox: the run, or the swarm run it is part of
    network: str = "none"  # the agent's sandbox network: `web_fetch` is offered when not `none`
    _workspace_ready: bool = False
    _session_id: str | None = None
    _claimed: bool = False

    def __post_init__(self) -> None:
        registry = build_registry(self.app)
        self.registry = registry
        fetch = self.network != "none"
        self.names = [
            n
            for n in self.names
            if n in SANDBOX_TOOLS or (n in LIBRARY_TOOLS and n in registry) or (n == "web_fetch" and fetch)
        ]

    def specs(self) -> list[ToolSpec]:
        specs = []
        for name in self.names:
            if name in SANDBOX_TOOLS:
                model, _op, description = SANDBOX_TOOLS[name]
                specs.append(ToolSpec(name, description, model.model_json_schema()))
            elif name == "web_fetch":
                specs.append(ToolSpec(name, FETCH_DESCRIPTION, FetchArgs.model_json_schema()))
            else:
                tool = self.registry.get(name)
                specs.append(ToolSpec(name, tool.description, tool.input_schema()))
        specs.extend(t.spec for t in self.extra.values())
        return specs

    async def call(self, call: ToolCall) -> Outcome:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            return Outcome(f"invalid_arguments: the arguments of '{call.name}' are not JSON ({exc})", True)
        if not isinstance(arguments, dict):
            return Outcome(f"invalid_arguments: the arguments of '{call.name}' must be a JSON object", True)
        if call.name in self.extra:
            return await self.extra[call.name].handler(call.id, arguments)
        if call.name == "web_fetch" and call.name not in self.names:
            return Outcome(
                f"network_disabled: web_fetch is not available: this agent's sandbox network is "
                f"'{self.network}' (set the agent's network to 'direct' to fetch URLs)",
                True,
            )
        if call.name not in self.names:
            known = ", ".join([*self.names, *self.extra]) or "none"
            return Outcome(f"unknown_tool: there is no tool '{call.name}'; your tools: {known}", True)
        try:
            if call.name in SANDBOX_TOOLS:
                return await self._sandbox(call.name, arguments)
            if call.name == "web_fetch":
                return await self._fetch(arguments)
            result = await self.registry.call(self.app, self.actor, call.name, arguments)
        except ChasmError as exc:  # refused (scope) or failed before the tool ran
            return Outcome(f"{exc.code}: {exc.message}", True)
        return Outcome(_result_text(result), result.is_error)

    async def _sandbox(self, name: str, arguments: dict[str, Any]) -> Outcome:
        model, operation, _description = SANDBOX_TOOLS[name]
        try:
            args = model.model_validate(arguments)
        except ValidationError as exc:
            return _invalid(name, exc)
        body = {"operation": operation, **args.model_dump(exclude_none=True)}
        if operation == "run" and "cwd" not in body:
            body["cwd"] = "/workspace"
        if self.network != "none":  # the network of the sandbox a call starts
            body["network"] = self.network
        return await self._in_sandbox("terminal", body)

    async def _fetch(self, arguments: dict[str, Any]) -> Outcome:
        try:
            args = FetchArgs.model_validate(arguments)
        except ValidationError as exc:
            return _invalid("web_fetch", exc)
        return await self._in_sandbox("web_fetch", args.model_dump())

    async def _in_sandbox(self, tool: str, body: dict[str, Any]) -> Outcome:
        """A registry tool's call in the workspace's sandbox session (started by the first call)."""
        # The caller's scopes first: a key without them makes no workspace and starts no sandbox.
        self.registry.authorize(self.actor, tool, {**body, "workspace": self.workspace})
        waited = await self._claim()
        await self._ensure_workspace()
        result: ToolResult | None = None
        if self._session_id is not None:  # the workspace's session found by an earlier call
            result = await self.registry.call(
                self.app, self.actor, tool, {**body, "session_id": self._session_id}
            )
            if result.is_error and _code(result) in ("session_not_found", "session_not_running"):
                result = None
        if result is None:
            result = await self.registry.call(
                self.app, self.actor, tool, {**body, "workspace": self.workspace}
            )
        found = (result.data or {}).get("session_id")
        self._session_id = str(found) if found else self._session_id
        return Outcome(waited + _result_text(result), result.is_error)

    async def _claim(self) -> str:
        """The workspace's sandbox for this run alone (chasm.agents.claims); a note for the model
        when another run had it and this call waited."""
        if self._claimed or self.workspace is None:
            return ""
        claims = claims_of(self.app)
        key = key_of(self.actor.account_id, self.workspace)
        holder = claims.holder(key)
        if holder is not None and holder != self.owner:
            log.info("run %s waits for workspace %s (in use by %s)", self.owner, self.workspace, holder)
        waited = await claims.acquire(key, self.owner)
        self._claimed = True
        if holder is None or holder == self.owner:
            return ""
        return (
            f"[waited {waited:.1f} s for the workspace '{self.workspace}': another run was using its "
            "sandbox; its session was then started afresh, the files are the workspace's]\n"
        )

    async def _ensure_workspace(self) -> None:
        """The run's workspace, created on its first sandbox tool call."""
        if self._workspace_ready or self.workspace is None:
            return
        async with transaction(self.app.state.sessionmaker) as db:
            try:
                await workspaces.resolve_workspace(db, self.actor, self.workspace)
            except WorkspaceNotFound:
                if not self.actor.has_scope("workspaces.write"):
                    raise InsufficientScope(
                        f"This key lacks the 'workspaces.write' scope needed to create the run's "
                        f"workspace '{self.workspace}'"
                    ) from None
                await workspaces.create_workspace(
                    db,
                    self.actor,
                    self.app.state.settings,
                    self.app.state.workspace_storage,
                    WorkspaceCreate(name=self.workspace),
                )
        self._workspace_ready = True

    async def close(self) -> None:
        """End the sandbox session of the run's workspace (nothing is left running), and let the
        next run have it."""
        try:
            await self._end_session()
        finally:
            if self._claimed and self.workspace is not None:
                key = key_of(self.actor.account_id, self.workspace)
                await claims_of(self.app).release(key, self.owner)
                self._claimed = False

    async def _end_session(self) -> None:
        if not self._workspace_ready or self.workspace is None:
            return
        runtime = runtime_of(self.app)
        try:
            async with transaction(self.app.state.sessionmaker) as db:
                ws = await workspaces.resolve_workspace(db, self.actor, self.workspace)
                session_id = await workspaces.live_session_id(db, ws)
                if session_id is not None:
                    row = await sessions.get_session(db, self.actor, str(session_id))
                    await sessions.terminate(db, self.actor, runtime, row, True)
        except ChasmError as exc:
            log.warning("could not end the sandbox of workspace %s: %s", self.workspace, exc.message)
