"""Continue any chat of the library: a fork of the chat in which an agent goes on from the
conversation (its transcript as context, the middle summarised by the run's model when the whole
is too long: chasm.agents.context) with tools, in a sandbox whose workspace
holds the chat's repository when the chat names a git remote (imported as POST /v1/workspaces/
import does). A remote that cannot be imported leaves the agent its own workspace, and says so."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.agents import repository, runs, service
from chasm.agents.context import build as build_context
from chasm.agents.runner import Runner
from chasm.agents.schemas import DEFAULT_TOOLS, AgentRunRead, ContinueChat, CreateAgent
from chasm.auth.actor import Actor
from chasm.chats import repository as chats_repo
from chasm.chats import service as chats
from chasm.chats.exceptions import ChatNotFound
from chasm.chats.schemas import ForkSession
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.models import Agent, Chat, Job
from chasm.providers import service as providers
from chasm.workspaces import service as workspaces
from chasm.workspaces.exceptions import WorkspaceNotFound
from chasm.workspaces.schemas import WorkspaceImport
from chasm.workspaces.tasks import enqueue_import

log = logging.getLogger("chasm.agents")

DEFAULT_AGENT = "continue"
DEFAULT_INSTRUCTION = (
    "You continue a conversation that began in another AI coding tool. Read the transcript, then "
    "carry on with the user's new request, using your tools in the sandbox when they help."
)
REMOTE_KEYS = ("git_repository", "git_remote", "repository_url", "repository")
IMPORT_POLL_S = 0.2


def _remote(chat: Chat) -> str | None:
    meta = chat.meta or {}
    for key in REMOTE_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip() and "[" not in value:
            return value.strip()
    return None


async def _agent(db: AsyncSession, actor: Actor, selector: str | None) -> Agent:
    if selector:
        return await service.get_agent(db, actor, selector)
    found = await repository.agent_by_name(db, actor.account_id, DEFAULT_AGENT)
    if found is not None:
        return found
    body = CreateAgent(name=DEFAULT_AGENT, system_prompt=DEFAULT_INSTRUCTION, tools=list(DEFAULT_TOOLS))
    created = await service.create_agent(db, actor, body)
    return await service.get_agent(db, actor, created.id)


async def _import(app: Any, actor: Actor, chat: Chat) -> tuple[str | None, uuid.UUID | None, str]:
    """The workspace holding the chat's repository (imported now, or by an earlier continuation),
    its import job, and a note for the model."""
    remote = _remote(chat)
    if remote is None:
        return None, None, ""
    name = f"chat-{str(chat.id)[:8]}"
    async with transaction(app.state.sessionmaker) as db:
        try:
            await workspaces.resolve_workspace(db, actor, name)
            return name, None, f"Your workspace /workspace holds the repository {remote}."
        except WorkspaceNotFound:
            pass
        try:
            body = WorkspaceImport(github_repo=remote, name=name)
            _ws, job_id = await enqueue_import(
                db, actor, app.state.settings, app.state.workspace_storage, body
            )
        except ChasmError as exc:
            return None, None, f"The chat's repository {remote} could not be imported ({exc.message})."
    return name, job_id, f"Your workspace /workspace holds the repository {remote}."


async def _imported(app: Any, job_id: uuid.UUID) -> str | None:
    """Wait for the import job; its error, if it failed."""
    while True:
        async with app.state.sessionmaker() as db:
            job = await db.get(Job, job_id)
        if job is None or job.status in ("succeeded", "failed", "canceled"):
            return None if job is None or job.status == "succeeded" else job.error or job.status
        await asyncio.sleep(IMPORT_POLL_S)


async def continue_chat(app: Any, actor: Actor, chat_id: uuid.UUID, body: ContinueChat) -> AgentRunRead:
    """Fork the chat and run an agent on `body.prompt` in the fork, the chat as its context."""
    async with transaction(app.state.sessionmaker) as db:
        source = await chats_repo.get_chat(db, actor.account_id, chat_id)
        if source is None:
            raise ChatNotFound()
        agent = await _agent(db, actor, body.agent)
        spec = service.model_spec(body.provider_id, body.model) if body.model else None
        run_spec = spec or service.model_spec(agent.provider, agent.model)
        model, model_name = await providers.resolve(db, actor, run_spec)
        history = await chats_repo.messages(db, source.id)
    # The transcript, its middle summarised by the run's model when it is too long (no
    # transaction is open while the model writes).
    context = await build_context(model, model_name, list(history))
    workspace, job_id, note = await _import(app, actor, source)
    if job_id is not None:
        error = await _imported(app, job_id)
        if error is not None:
            workspace, note = None, f"The chat's repository could not be imported ({error})."
    async with transaction(app.state.sessionmaker) as db:
        source = await chats_repo.get_chat(db, actor.account_id, chat_id)
        if source is None:
            raise ChatNotFound()
        agent = await service.get_agent(db, actor, agent.id)
        title = f"{source.title or 'Untitled'} (continued)"
        forked = await chats.fork_chat(db, actor, chat_id, ForkSession(title=title))
        fork = await chats_repo.get_chat(db, actor.account_id, forked.id)
        assert fork is not None
        meta: dict[str, Any] = {"continued_from": str(source.id), "agent": agent.name}
        meta["context"] = {"mode": context.mode, **context.facts}
        fork.meta = {**(fork.meta or {}), **meta}
        system = "\n\n".join(
            part
            for part in (
                agent.system_prompt or DEFAULT_INSTRUCTION,
                note,
                f"The conversation so far ({source.provider}, {len(history)} messages):\n\n" + context.text,
            )
            if part
        )
        run = await runs.create_run(
            db,
            actor,
            agent,
            body.prompt,
            workspace=workspace or runs.agent_workspace("agent", agent.name),
            chat=fork,
            first_seq=fork.message_count,
            model=spec,
            system=system,
        )
    await Runner(app, actor, run.id).drive()
    async with app.state.sessionmaker() as db:
        return await runs.read_run(db, actor, run.id)
