"""Job kinds of browsers: browser.action (steps on a new or given browser session) and
browser.scrape (a URL to its title, text, HTML, final URL and status). A browser session the job
started itself ends with the job; a given one is left running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.browser import service
from chasm.jobs.registry import JobContext, JobFailed, job_kind
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.models import SandboxSession
from chasm.sandbox.runtime import SandboxRuntime, runtime_of
from chasm.sessions import service as sessions
from chasm.sessions.schemas import NetworkIn


class BrowserTarget(BaseModel):
    """Where the steps run: a running browser session, a browser workspace's session (reused or
    started), or (neither) a new ephemeral browser that ends with the job."""

    model_config = ConfigDict(extra="forbid")
    session_id: str | None = None
    workspace: str | None = Field(default=None, description="a browser workspace (name or id)")
    network: NetworkIn | None = Field(default=None, description="for a new session; default none")


class Navigate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["navigate"]
    url: str = Field(max_length=100_000)
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)


class Click(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["click"]
    selector: str = Field(max_length=2000)


class Type(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["type"]
    selector: str = Field(max_length=2000)
    text: str = Field(max_length=100_000)
    clear: bool = False
    submit: bool = False


class Wait(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["wait"]
    selector: str | None = Field(default=None, max_length=2000)
    ms: int | None = Field(default=None, ge=0, le=600_000)
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)


class Evaluate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["evaluate"]
    expression: str = Field(max_length=100_000)


class TakeScreenshot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["screenshot"]
    full_page: bool = False


Step = Annotated[Navigate | Click | Type | Wait | Evaluate | TakeScreenshot, Field(discriminator="action")]


class BrowserActionInput(BrowserTarget):
    steps: list[Step] = Field(min_length=1, max_length=200)


class BrowserScrapeInput(BrowserTarget):
    url: str = Field(max_length=100_000)
    max_chars: int = Field(default=1_000_000, ge=1, le=10_000_000, description="cap of text and of html")
    timeout_ms: int | None = Field(default=None, ge=1, le=600_000)


@asynccontextmanager
async def _session(ctx: JobContext, target: BrowserTarget) -> AsyncIterator[SandboxSession]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await ctx.actor(db)
        if target.session_id:
            row = await service.get_browser(db, actor, target.session_id, runtime)
            disposable = False
        else:
            network, workspace = target.network, target.workspace
            created = await service.create_browser(db, actor, runtime, workspace=workspace, network=network)
            row, disposable = created.row, created.created and target.workspace is None
    try:
        yield row
    finally:
        if disposable:
            await _end(ctx, runtime, str(row.id))


async def _end(ctx: JobContext, runtime: SandboxRuntime, session_id: str) -> None:
    async with transaction(ctx.app.state.sessionmaker) as db:
        row = await sessions.get_session(db, await ctx.actor(db), session_id)
        if row.status != "terminated":
            await sessions.end_session(runtime, row, "completed")


def _seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms else None


async def _step(runtime: SandboxRuntime, row: SandboxSession, step: BaseModel) -> dict[str, Any]:
    if isinstance(step, Navigate):
        return (
            await service.navigate(runtime, row, step.url, timeout_s=_seconds(step.timeout_ms))
        ).model_dump()
    if isinstance(step, Click):
        return (await service.click(runtime, row, step.selector)).model_dump()
    if isinstance(step, Type):
        done = await service.type_text(
            runtime, row, step.selector, step.text, clear=step.clear, submit=step.submit
        )
        return done.model_dump()
    if isinstance(step, Wait):
        timeout = _seconds(step.timeout_ms)
        return (
            await service.wait(runtime, row, selector=step.selector, ms=step.ms, timeout_s=timeout)
        ).model_dump()
    if isinstance(step, Evaluate):
        return (await service.evaluate(runtime, row, step.expression)).model_dump()
    assert isinstance(step, TakeScreenshot)
    shot = await service.screenshot(runtime, row, full_page=step.full_page)
    return {"png_base64": shot.base64(), "width": shot.width, "height": shot.height}


@job_kind(
    "browser.action",
    BrowserActionInput,
    timeout_s=3600,
    max_attempts=1,
    description="Run browser steps (navigate, click, type, wait, evaluate, screenshot) in a browser session",
    scope="sessions.write",
    sealed=("network",),
)
async def run_action(ctx: JobContext, data: BrowserActionInput) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    results: list[dict[str, Any]] = []
    async with _session(ctx, data) as row:
        for index, step in enumerate(data.steps):
            await ctx.check_canceled()
            try:
                out = await _step(runtime, row, step)
            except ChasmError as error:
                failed = {
                    "step": index,
                    "action": step.action,
                    "error": {"code": error.code, "message": error.message},
                }
                outcome = {"session_id": str(row.id), "succeeded": False, "steps": [*results, failed]}
                raise JobFailed(f"step {index} ({step.action}) failed: {error.message}", outcome) from error
            results.append({"step": index, "action": step.action, **out})
    return {"session_id": str(row.id), "succeeded": True, "steps": results}


@job_kind(
    "browser.scrape",
    BrowserScrapeInput,
    timeout_s=600,
    max_attempts=1,
    description="Open a URL in a browser and return its title, text, HTML, final URL and status",
    scope="sessions.write",
    sealed=("network",),
)
async def run_scrape(ctx: JobContext, data: BrowserScrapeInput) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with _session(ctx, data) as row:
        try:
            result = await service.scrape(
                runtime, row, data.url, max_chars=data.max_chars, timeout_s=_seconds(data.timeout_ms)
            )
        except ChasmError as error:
            outcome = {"session_id": str(row.id), "error": {"code": error.code, "message": error.message}}
            raise JobFailed(f"scrape of {data.url[:200]} failed: {error.message}", outcome) from error
    return {"session_id": str(row.id), **result.model_dump()}
