"""The agent loop: messages -> model (with tools) -> tool calls run -> results appended -> again,
until the model answers without calling a tool.

Every step is committed as it happens (the assistant reply, each tool result, a step row), and
the loop starts from what the run's chat holds, so a run stopped between steps (paused, its
server restarted) continues where it was without repeating a finished step. A run has a step
limit (model replies) and a wall-clock limit; a run that ends without an answer is marked failed
with the reason, and its sandbox session is ended either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chasm.agents import repository, transcript
from chasm.agents.exceptions import RunFailed, StepLimitReached, TimeLimitReached
from chasm.agents.schemas import step_summary
from chasm.agents.toolbox import ExtraTool, Toolbox
from chasm.auth.actor import Actor
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError, InsufficientScope
from chasm.kit.timeutil import utcnow
from chasm.models import Agent, AgentRun, AgentStep, Chat
from chasm.providers import service as providers
from chasm.providers.llm import ChatMessage, ChatModel, Completion

log = logging.getLogger("chasm.agents")

STEP_TOPIC = "agent.step"
RUN_TOPIC = "agent.run"


class Interrupted(Exception):
    """Raised by a run's control between steps: the run is `paused` or `stopped`, not failed
    (`superseded`: another job drives it now, and this one leaves it as it is)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


Control = Callable[[], Awaitable[None]]  # raises Interrupted to stop the run between steps
StepListener = Callable[[dict[str, Any]], None]


async def _no_control() -> None:
    return None


@dataclass
class Runner:
    app: Any
    actor: Actor
    run_id: uuid.UUID
    control: Control = _no_control
    extra_tools: dict[str, ExtraTool] = field(default_factory=dict)
    on_step: StepListener | None = None

    @property
    def maker(self) -> Any:
        return self.app.state.sessionmaker

    async def drive(self) -> AgentRun:
        """Run to an answer (the run, completed), or raise: Interrupted, or the failure (a
        ChasmError) once the run is recorded failed with it."""
        async with transaction(self.maker) as db:
            run = await db.get(AgentRun, self.run_id)
            assert run is not None
            agent = await db.get(Agent, run.agent_id) if run.agent_id else None
            if run.status in ("completed", "failed", "stopped"):
                return run
            run.status, run.updated_at = "running", utcnow()
        toolbox: Toolbox | None = None
        try:
            if agent is None:
                raise RunFailed(f"The agent '{run.agent_name}' was deleted", code="agent_not_found")
            if not self.actor.has_scope("chats.write"):  # model calls and the run's chat need it
                raise InsufficientScope("This key lacks the 'chats.write' scope an agent run needs")
            async with transaction(self.maker) as db:
                model, model_name = await providers.resolve(db, self.actor, run.model)
            toolbox = Toolbox(
                self.app,
                self.actor,
                list(agent.tools or []),
                run.workspace,
                self.extra_tools,
                owner=str(run.swarm_run_id or run.id),
                network=agent.network or "none",
            )
            try:
                async with asyncio.timeout(agent.timeout_s):
                    answer = await self._loop(agent, model, model_name, toolbox)
            except TimeoutError:
                raise TimeLimitReached(
                    f"The run went over its time limit of {agent.timeout_s} s without an answer"
                ) from None
        except Interrupted as stop:
            if stop.state in ("paused", "stopped"):
                await self._set(status=stop.state, finished=stop.state == "stopped")
            raise
        except ChasmError as exc:
            await self._fail(exc)
            raise
        except asyncio.CancelledError:
            await asyncio.shield(self._set(status="stopped", error="canceled", finished=True))
            raise
        except Exception as exc:
            log.exception("agent run %s failed", self.run_id)
            failure = RunFailed(f"The run failed: {type(exc).__name__}: {exc}")
            await self._fail(failure)
            raise failure from exc
        finally:
            if toolbox is not None:
                await asyncio.shield(toolbox.close())
        return await self._set(status="completed", answer=answer, finished=True)

    async def _loop(self, agent: Agent, model: ChatModel, model_name: str, toolbox: Toolbox) -> str:
        async with self.maker() as db:
            run = await db.get(AgentRun, self.run_id)
            assert run is not None and run.chat_id is not None
            messages = await transcript.conversation(db, run.chat_id, run.first_seq)
            steps = run.steps
        specs = toolbox.specs()
        while True:
            await self.control()
            last = _last_reply(messages)
            if last is not None:
                answered = {m.tool_call_id for m in messages if m.role == "tool"}
                pending = [c for c in last.tool_calls if c.id not in answered]
                if pending:
                    call = pending[0]
                    started = time.monotonic()
                    outcome = await toolbox.call(call)
                    result = ChatMessage("tool", outcome.text, tool_call_id=call.id)
                    kind = "delegate" if call.name in self.extra_tools else "tool"
                    await self._record(
                        result, kind, call.name, call.id, outcome.is_error, outcome.text, started
                    )
                    messages.append(result)
                    continue
                if not last.tool_calls and messages[-1] is last:
                    return last.content or ""
            if steps >= agent.max_steps:
                raise StepLimitReached(
                    f"The run reached its limit of {agent.max_steps} steps without an answer"
                )
            started = time.monotonic()
            completion = await model.complete(
                messages, model=model_name, tools=specs or None, temperature=agent.temperature
            )
            reply = _reply(completion, steps)
            summary = reply.content or ", ".join(c.name for c in reply.tool_calls)
            await self._record(reply, "model", None, None, False, summary, started, completion)
            steps += 1
            messages.append(reply)

    async def _record(
        self,
        message: ChatMessage,
        kind: str,
        name: str | None,
        call_id: str | None,
        is_error: bool,
        summary: str,
        started: float,
        completion: Completion | None = None,
    ) -> None:
        """One step, committed: the message in the run's chat and the step row."""
        usage = completion.usage if completion is not None else None
        async with transaction(self.maker) as db:
            run = await db.get(AgentRun, self.run_id)
            assert run is not None and run.chat_id is not None
            chat = await db.get(Chat, run.chat_id)
            if chat is None:
                raise RunFailed("The run's chat was deleted", code="chat_deleted")
            model = completion.model if completion is not None else None
            await transcript.append(db, chat, message, usage=usage, model=model, is_error=is_error)
            step = AgentStep(
                id=uuid.uuid4(),
                run_id=run.id,
                seq=await repository.next_step_seq(db, run.id),
                kind=kind,
                name=name,
                call_id=call_id,
                is_error=is_error,
                summary=step_summary(summary),
                input_tokens=usage.input_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
                duration_ms=int((time.monotonic() - started) * 1000),
                created_at=utcnow(),
            )
            db.add(step)
            if kind == "model":
                run.steps += 1
            run.updated_at = utcnow()
            event = {
                "run_id": str(run.id),
                "account_id": str(run.account_id),
                "swarm_run_id": str(run.swarm_run_id) if run.swarm_run_id else None,
                "agent": run.agent_name,
                "seq": step.seq,
                "kind": kind,
                "name": name,
                "is_error": is_error,
                "summary": step.summary,
                "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in message.tool_calls],
            }
        await self._publish(STEP_TOPIC, event)
        if self.on_step is not None:
            self.on_step(event)

    async def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        bus = getattr(self.app.state, "events", None)
        if bus is not None:
            try:
                await bus.publish(topic, payload)
            except Exception:
                log.exception("could not publish %s", topic)

    async def _set(
        self,
        *,
        status: str,
        answer: str | None = None,
        error: str | None = None,
        code: str | None = None,
        finished: bool = False,
    ) -> AgentRun:
        async with transaction(self.maker) as db:
            run = await db.get(AgentRun, self.run_id)
            assert run is not None
            run.status, run.updated_at = status, utcnow()
            if answer is not None:
                run.answer = answer
            if error is not None:
                run.error, run.error_code = error, code or run.error_code
            if finished:
                run.finished_at = utcnow()
            payload = {
                "run_id": str(run.id),
                "account_id": str(run.account_id),
                "swarm_run_id": str(run.swarm_run_id) if run.swarm_run_id else None,
                "agent": run.agent_name,
                "status": status,
            }
        await self._publish(RUN_TOPIC, payload)
        return run

    async def _fail(self, exc: ChasmError) -> None:
        await self._set(status="failed", error=exc.message, code=exc.code, finished=True)
        exc.details = {**(exc.details or {}), **await self._where()}

    async def _where(self) -> dict[str, Any]:
        async with self.maker() as db:
            run = await db.get(AgentRun, self.run_id)
            assert run is not None
            return {"run_id": str(run.id), "chat_id": str(run.chat_id) if run.chat_id else None}


def _last_reply(messages: list[ChatMessage]) -> ChatMessage | None:
    """The model's latest reply, when only the results of its tool calls follow it (each call of
    a reply is run, in order, before the model is asked again)."""
    for message in reversed(messages):
        if message.role == "assistant":
            return message
        if message.role != "tool":
            return None
    return None


def _reply(completion: Completion, step: int) -> ChatMessage:
    """The model's reply as recorded: an assistant message whose tool calls all have an id."""
    message = completion.message
    calls = []
    for index, call in enumerate(message.tool_calls):
        if not call.id:
            call.id = f"call_{step}_{index}"
        calls.append(call)
    return ChatMessage("assistant", message.content, calls)
