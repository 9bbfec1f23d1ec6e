"""`terminal`: run a command, or read, write, edit and list files, in a sandbox session.

The target is an existing session (`session_id`), a workspace (its live session, started if there
is none) or, for commands only, a new ephemeral sandbox that ends with the command. Every answer
names the session and workspace it used.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chasm.exec import service as exec_service
from chasm.exec.schemas import AutoExecIn, ExecIn
from chasm.files import service as files_service
from chasm.models import SandboxSession
from chasm.sandbox.runtime import SandboxRuntime, runtime_of
from chasm.sessions import service as sessions
from chasm.sessions.schemas import NetworkIn, SessionCreate
from chasm.tools.base import Tool, ToolContext, ToolError, ToolResult

Operation = Literal["run", "read_file", "write_file", "apply_edit", "list_files"]
FILE_OPERATIONS = ("read_file", "write_file", "apply_edit", "list_files")
READ_MAX_BYTES = 512 * 1024
# A command's output beyond this is cut in the middle: its start and its end (where errors and
# summaries usually are) reach the model.
OUTPUT_MAX_CHARS = 256 * 1024
OUTPUT_HEAD_CHARS = 64 * 1024
LIST_MAX_ENTRIES = 1000
# Lists a folder from inside the sandbox, as its user: the path resolves as the sandbox's programs
# see it, and only /workspace and /tmp may be listed.
LIST_SCRIPT = r"""p=$(realpath -m -- "$CHASM_PATH") || exit 90
case "$p" in /workspace|/workspace/*|/tmp|/tmp/*) ;;
  *) echo "only /workspace and /tmp may be listed" >&2; exit 90;;
esac
[ -e "$p" ] || { echo "no such folder" >&2; exit 91; }
[ -d "$p" ] || { echo "not a folder" >&2; exit 92; }
cd "$p" && find . -mindepth 1 -maxdepth "$CHASM_DEPTH" -name .git -prune -o \
  -printf '%y\t%s\t%P\n' 2>/dev/null | head -n "$CHASM_LIMIT"
"""


class TerminalArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operation: Operation = Field(
        default="run",
        description="run a shell command (default), or a file operation: read_file, write_file, "
        "apply_edit (replace one exact occurrence of `search` by `replace`), list_files",
    )
    session_id: str | None = Field(default=None, description="an existing sandbox session")
    workspace: str | None = Field(
        default=None, description="a workspace name or id: its live session, started if none is running"
    )
    ephemeral: bool | None = Field(
        default=None,
        description="run the command in a new disposable sandbox that ends with it (the default when "
        "no session_id or workspace is given; commands only)",
    )
    image: str | None = Field(
        default=None, max_length=300, description="root filesystem of a new ephemeral sandbox"
    )
    network: Literal["none", "direct"] | None = Field(
        default=None,
        description="outbound network of a sandbox this call starts (default none; a running session "
        "keeps its own)",
    )
    command: str | None = Field(
        default=None, max_length=100_000, description="run by /bin/sh -c (operation run)"
    )
    timeout_ms: int | None = Field(
        default=None, ge=1, le=3_600_000, description="kill the command after this long"
    )
    cwd: str | None = Field(default=None, max_length=4096, description="working folder of the command")
    path: str | None = Field(
        default=None,
        max_length=4096,
        description="file or folder for file operations; relative paths are under /workspace "
        "(only /workspace and /tmp are reachable)",
    )
    content: str | None = Field(default=None, description="write_file: the file's new text")
    search: str | None = Field(
        default=None, description="apply_edit: the exact text to replace (must occur once)"
    )
    replace: str | None = Field(default=None, description="apply_edit: the text put in its place")
    depth: int = Field(default=2, ge=1, le=10, description="list_files: how many folder levels to descend")

    @model_validator(mode="after")
    def _complete(self) -> TerminalArgs:
        targets = sum(
            x is not None and x is not False for x in (self.session_id, self.workspace, self.ephemeral)
        )
        if targets > 1:
            raise ValueError("give one target: session_id, workspace or ephemeral")
        needs: dict[str, tuple[str, ...]] = {
            "run": ("command",),
            "read_file": ("path",),
            "write_file": ("path", "content"),
            "apply_edit": ("path", "search", "replace"),
            "list_files": (),
        }
        missing = [name for name in needs[self.operation] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"operation {self.operation} needs {', '.join(missing)}")
        if self.operation == "run" and not (self.command or "").strip():
            raise ValueError("command is empty")
        if self.operation == "apply_edit" and not self.search:
            raise ValueError("search must not be empty")
        if self.operation != "run" and self.ephemeral:
            raise ValueError(
                "file operations need a session_id or a workspace (an ephemeral sandbox ends with the call)"
            )
        if self.operation != "run" and self.session_id is None and self.workspace is None:
            raise ValueError("file operations need a session_id or a workspace")
        return self


def terminal_scope(args: TerminalArgs) -> str:
    if args.operation in ("read_file", "list_files"):
        return "files.read"
    if args.operation in ("write_file", "apply_edit"):
        return "files.write"
    return "exec.write"


def _network(args: TerminalArgs) -> NetworkIn | None:
    return NetworkIn(mode=args.network) if args.network not in (None, "none") else None


def _where(row: SandboxSession) -> dict[str, Any]:
    return {
        "session_id": str(row.id),
        "workspace_id": str(row.workspace_id) if row.workspace_id else None,
        "ephemeral": row.ephemeral,
    }


async def sandbox_session(ctx: ToolContext, session_id: str) -> SandboxSession:
    """A running sandbox session of the caller's account (a browser session is refused)."""
    row = await sessions.get_running(ctx.db, ctx.actor, session_id, runtime_of(ctx.app))
    if row.session_type != "sandbox":
        raise ToolError(
            f"session {row.id} is a {row.session_type} session; the terminal needs a sandbox session"
            + (" (use the browser tool)" if row.session_type == "browser" else ""),
            code="wrong_session_type",
        )
    return row


async def _target(
    ctx: ToolContext, runtime: SandboxRuntime, args: TerminalArgs
) -> tuple[SandboxSession, bool]:
    """The session to work in, and whether it was started for this call."""
    if args.session_id is not None:
        return await sandbox_session(ctx, args.session_id), False
    created = await sessions.create_session(
        ctx.db,
        ctx.actor,
        runtime,
        SessionCreate(session_type="sandbox", workspace=args.workspace, network=_network(args)),
    )
    return created.row, created.created


async def _run(ctx: ToolContext, runtime: SandboxRuntime, args: TerminalArgs) -> dict[str, Any]:
    assert args.command is not None
    if args.session_id is not None:
        row = await sandbox_session(ctx, args.session_id)
        body = ExecIn(command=args.command, timeout_ms=args.timeout_ms, cwd=args.cwd)
        out = await exec_service.run(ctx.db, ctx.actor, runtime, row, body)
        ephemeral = row.ephemeral
    else:
        auto = AutoExecIn(
            command=args.command,
            timeout_ms=args.timeout_ms,
            cwd=args.cwd,
            workspace=args.workspace,
            ephemeral=args.workspace is None,
            image=args.image,
            network=_network(args),
        )
        out = await exec_service.auto_exec(ctx.db, ctx.actor, runtime, auto)
        ephemeral = args.workspace is None
    output, cut = _clip(out.output or "")
    return {
        "session_id": out.session_id,
        "workspace_id": out.workspace_id,
        "ephemeral": ephemeral,
        "exit_code": out.exit_code,
        "timed_out": out.timed_out,
        "output": output,
        "output_truncated": bool(out.output_truncated) or cut,
        "duration_ms": out.duration_ms,
    }


def _clip(output: str) -> tuple[str, bool]:
    if len(output) <= OUTPUT_MAX_CHARS:
        return output, False
    tail = OUTPUT_MAX_CHARS - OUTPUT_HEAD_CHARS
    omitted = len(output) - OUTPUT_MAX_CHARS
    return f"{output[:OUTPUT_HEAD_CHARS]}\n[... {omitted} characters omitted ...]\n{output[-tail:]}", True


async def _read_text(runtime: SandboxRuntime, row: SandboxSession, raw_path: str) -> tuple[str, str]:
    path, data, _type = await files_service.download(runtime, row, raw_path)
    if len(data) > READ_MAX_BYTES:
        raise ToolError(
            f"{path} is {len(data)} bytes, over the {READ_MAX_BYTES} byte limit of read_file; "
            "read part of it with a command (head, sed -n, grep)",
            code="file_too_large",
        )
    try:
        return path, data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(
            f"{path} is not UTF-8 text; inspect it with a command (file, xxd)", code="binary_file"
        ) from None


async def _file_operation(ctx: ToolContext, runtime: SandboxRuntime, args: TerminalArgs) -> dict[str, Any]:
    row, started = await _target(ctx, runtime, args)
    try:
        return await _on_file(ctx, runtime, row, args)
    except BaseException:
        # The call's transaction rolls back the new session's row: its sandbox must not outlive it.
        if started:
            await sessions.end_session(runtime, row, "error")
        raise


async def _on_file(
    ctx: ToolContext, runtime: SandboxRuntime, row: SandboxSession, args: TerminalArgs
) -> dict[str, Any]:
    where = _where(row)
    if args.operation == "read_file":
        assert args.path is not None
        path, text = await _read_text(runtime, row, args.path)
        return {**where, "path": path, "size": len(text.encode()), "content": text}
    if args.operation == "write_file":
        assert args.path is not None and args.content is not None
        path, size = await files_service.write(
            ctx.db, ctx.actor, runtime, row, args.path, args.content.encode()
        )
        return {**where, "path": path, "size": size}
    if args.operation == "apply_edit":
        assert args.path is not None and args.search is not None and args.replace is not None
        path, text = await _read_text(runtime, row, args.path)
        count = text.count(args.search)
        if count == 0:
            raise ToolError(
                f"the search text does not occur in {path}; nothing was changed", code="edit_not_found"
            )
        if count > 1:
            raise ToolError(
                f"the search text occurs {count} times in {path}; include more context so it occurs once",
                code="edit_ambiguous",
            )
        line = text[: text.index(args.search)].count("\n") + 1
        updated = text.replace(args.search, args.replace, 1)
        _, size = await files_service.write(ctx.db, ctx.actor, runtime, row, path, updated.encode())
        return {**where, "path": path, "size": size, "line": line}
    return {**where, **await _list(ctx, runtime, row, args)}


async def _list(
    ctx: ToolContext, runtime: SandboxRuntime, row: SandboxSession, args: TerminalArgs
) -> dict[str, Any]:
    raw = (args.path or "/workspace").strip() or "/workspace"
    path = raw if raw.startswith("/") else f"/workspace/{raw}"
    if "\0" in path or ".." in path.split("/"):
        raise ToolError(f"'{raw}' is not an allowed folder", code="path_not_allowed")
    sessions.mark_active(runtime, row)
    result = await runtime.driver.exec(
        str(row.id),
        LIST_SCRIPT,
        env={"CHASM_PATH": path, "CHASM_DEPTH": str(args.depth), "CHASM_LIMIT": str(LIST_MAX_ENTRIES + 1)},
        timeout_ms=10_000,
        max_output_bytes=512 * 1024,
    )
    if result.exit_code != 0:
        codes = {90: "path_not_allowed", 91: "not_found", 92: "not_a_folder"}
        message = result.output.strip() or f"listing failed (exit {result.exit_code})"
        raise ToolError(f"{path}: {message}", code=codes.get(result.exit_code or 0, "list_failed"))
    entries = []
    for line in result.output.splitlines():
        kind, _, rest = line.partition("\t")
        size, _, name = rest.partition("\t")
        if name:
            entries.append(
                {
                    "path": name,
                    "type": {"d": "dir", "f": "file", "l": "link"}.get(kind, "other"),
                    "size": int(size or 0),
                }
            )
    truncated = len(entries) > LIST_MAX_ENTRIES
    return {"path": path, "entries": entries[:LIST_MAX_ENTRIES], "truncated": truncated}


async def terminal(ctx: ToolContext, args: TerminalArgs) -> ToolResult:
    runtime = runtime_of(ctx.app)
    if args.operation == "run":
        return ToolResult.of(await _run(ctx, runtime, args))
    return ToolResult.of(await _file_operation(ctx, runtime, args))


TERMINAL = Tool(
    name="terminal",
    title="Sandbox terminal",
    description=(
        "Run a shell command in an isolated Linux sandbox, or read, write, edit (exact search/replace) "
        "and list files there. Target an existing session (session_id), a persistent workspace "
        "(workspace: its running session, started if needed) or, for commands, a new ephemeral "
        "sandbox (the default). Every result names the session_id and workspace_id it used; "
        "reuse the session_id to keep working in the same machine."
    ),
    args=TerminalArgs,
    handler=terminal,
    scope=terminal_scope,
    scopes=("exec.write", "files.read", "files.write"),
)
