"""Where a completion's `model` goes. Resolvers registered here are asked first, in order (the
agents domain registers one answering agent names); a spec none of them claims goes to the
providers: `provider/model`, a provider's name, a bare model of the default provider, or the
default provider's default model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.providers import service as providers
from chasm.providers.llm import ChatModel


@dataclass
class Route:
    chat: ChatModel
    model: str
    provider: str  # recorded with the completion
    system_prompt: str | None = None  # put first when the caller sent no system message (an agent's)
    temperature: float | None = None  # used when the caller sent none
    agent: str | None = None


Resolver = Callable[[AsyncSession, Actor, str], Awaitable[Route | None]]
RESOLVERS: list[Resolver] = []


def register(resolver: Resolver) -> None:
    """Ask `resolver` before the providers (an agent name, for instance); it answers None for a
    spec it does not know."""
    if resolver not in RESOLVERS:
        RESOLVERS.append(resolver)


async def route(db: AsyncSession, actor: Actor, spec: str) -> Route:
    spec = spec.strip()
    for resolver in RESOLVERS:
        found = await resolver(db, actor, spec)
        if found is not None:
            return found
    resolved = await providers.resolve_route(db, actor, spec or None)
    return Route(chat=resolved.chat, model=resolved.model, provider=resolved.provider.name)
