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
