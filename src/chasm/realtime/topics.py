"""Library updates on the event bus, as `/ws` sends them.

Every update is one bus event whose topic starts with `library.` and whose payload names the
account it belongs to (`account_id`), the chat and workspace it concerns, and where it came from
(`source`: harvest, watch, recording, api). Jobs publish `job.updated` (chasm.jobs.service).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from chasm.kit.events import EventBus

log = logging.getLogger("chasm.realtime")

CHAT_CREATED = "library.chat.created"
CHAT_UPDATED = "library.chat.updated"
CHAT_DELETED = "library.chat.deleted"
MESSAGES_APPENDED = "library.messages.appended"
HARVEST_PROGRESS = "library.harvest.progress"

_publishing: set[asyncio.Task[None]] = set()


def library_event(
    account_id: uuid.UUID,
    *,
    chat_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    source: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "account_id": str(account_id),
        "chat_id": str(chat_id) if chat_id else None,
        "workspace_id": str(workspace_id) if workspace_id else None,
        "source": source,
        **extra,
    }


async def publish(bus: EventBus | None, topic: str, payload: dict[str, Any]) -> None:
    """Publish, never failing the caller: the data is stored already, the update is a courtesy."""
    if bus is None:
        return
    try:
        await bus.publish(topic, payload)
    except Exception:
        log.warning("could not publish %s", topic, exc_info=True)


def publish_soon(bus: EventBus | None, topic: str, payload: dict[str, Any]) -> None:
    """`publish` from code that does not wait for it (after a commit)."""
    if bus is None:
        return
    task = asyncio.get_running_loop().create_task(publish(bus, topic, payload))
    _publishing.add(task)
    task.add_done_callback(_publishing.discard)


def harvest_notifier(bus: EventBus | None, maker: Any, account_id: uuid.UUID, source: str = "harvest") -> Any:
    """A `HarvestEngine(stored=...)` callback publishing what each stored batch did: a created
    chat, or messages appended to one (with its workspace, read in one query)."""
    if bus is None:
        return None
    from chasm.chats import repository as chats_repo

    async def stored(provider: str, touched: list[tuple[uuid.UUID, bool, int]]) -> None:
        try:
            async with maker() as db:
                workspaces = await chats_repo.workspaces_of(db, [c for c, _, _ in touched])
        except Exception:
            log.warning("could not read the workspaces of harvested chats", exc_info=True)
            workspaces = {}
        for chat_id, created, count in touched:
            ws = workspaces.get(chat_id)
            if created:
                payload = library_event(
                    account_id, chat_id=chat_id, workspace_id=ws, source=source, provider=provider
                )
                await publish(bus, CHAT_CREATED, payload)
            if count:
                payload = library_event(
                    account_id,
                    chat_id=chat_id,
                    workspace_id=ws,
                    source=source,
                    provider=provider,
                    count=count,
                )
                await publish(bus, MESSAGES_APPENDED, payload)

    return stored


def progress_notifier(
    bus: EventBus | None, account_id: uuid.UUID, source: str = "harvest", **extra: Any
) -> Any:
    """A `HarvestEngine(progress=...)` callback publishing `library.harvest.progress`."""
    if bus is None:
        return None

    def progress(provider: str, done: int, total: int) -> None:
        payload = library_event(account_id, source=source, provider=provider, done=done, total=total, **extra)
        publish_soon(bus, HARVEST_PROGRESS, payload)

    return progress
