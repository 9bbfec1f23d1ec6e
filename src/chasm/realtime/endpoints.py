"""`/ws` (spec 001): library updates as they happen, for one account.

Authenticated like the chat surface (bearer header, `?token=`, or the loopback owner), scope
`chats.read`. Filters, in the query or changed later by a message `{"type": "subscribe", ...}`:
`chat_id` and `workspace_id` (repeatable: an update passes when it concerns one of them) and
`topics` (shell patterns, comma separated: `library.*`, `job.*`; default both; also `session.*`
(sandbox sessions created and terminated, with `ended_reason`) and `workspace.*` (workspaces and
their snapshots), sent only to a caller holding `sessions.read`, resp. `workspaces.read`). Every update is
`{"type": "event", "topic", "data"}`; a subscriber too slow to keep up gets `{"type": "gap",
"dropped": n}` in place of what it missed. The bus carries updates between server processes
(Redis when `CHASM_REDIS_URL` is set), so a client sees those of every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from chasm.auth.actor import Actor
from chasm.auth.deps import websocket_chat_actor
from chasm.kit.api_tags import Tag
from chasm.kit.errors import ChasmError
from chasm.kit.events import GAP_TOPIC, Event, EventBus
from chasm.sessions.access import refuse

router = APIRouter(tags=[Tag.SESSIONS])
DEFAULT_TOPICS = ("library.*", "job.*")
MAX_FILTER_IDS = 1000


@dataclass
class Filters:
    topics: tuple[str, ...] = DEFAULT_TOPICS
    chat_ids: set[str] = field(default_factory=set)
    workspace_ids: set[str] = field(default_factory=set)

    def passes(self, event: Event) -> bool:
        if not any(fnmatch.fnmatchcase(event.topic, p) for p in self.topics):
            return False
        if not (self.chat_ids or self.workspace_ids):
            return True
        data = event.payload
        return data.get("chat_id") in self.chat_ids or data.get("workspace_id") in self.workspace_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "topics": list(self.topics),
            "chat_ids": sorted(self.chat_ids),
            "workspace_ids": sorted(self.workspace_ids),
        }


def _ids(values: Any) -> set[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or len(values) > MAX_FILTER_IDS:
        raise ChasmError(f"Give at most {MAX_FILTER_IDS} ids as a list", 400, "invalid_filter")
    return {v.strip() for v in values if isinstance(v, str) and v.strip()}


def _topics(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ChasmError("topics: a list of patterns", 400, "invalid_filter")
    topics = tuple(t.strip() for t in items if isinstance(t, str) and t.strip())
    return topics or DEFAULT_TOPICS


def filters_from(websocket: WebSocket) -> Filters:
    params = websocket.query_params
    return Filters(
        topics=_topics(params.get("topics") or ",".join(DEFAULT_TOPICS)),
        chat_ids=_ids(params.getlist("chat_id")),
        workspace_ids=_ids(params.getlist("workspace_id")),
    )


# Topics whose events need a scope beyond the connection's `chats.read`.
TOPIC_SCOPES = {"session.": "sessions.read", "workspace.": "workspaces.read", "command.": "sessions.read"}


def mine(event: Event, account_id: str) -> bool:
    return event.topic == GAP_TOPIC or event.payload.get("account_id") == account_id


def allowed(actor: Actor, topic: str) -> bool:
    return all(actor.has_scope(scope) for prefix, scope in TOPIC_SCOPES.items() if topic.startswith(prefix))


@router.websocket("/ws")
async def updates(websocket: WebSocket) -> None:
    bus: EventBus | None = getattr(websocket.app.state, "events", None)
    try:
        if bus is None:
            raise ChasmError("The event bus is not running", 503, "unavailable")
        actor = await websocket_chat_actor(websocket, "chats.read")
        filters = filters_from(websocket)
    except ChasmError as error:
        await refuse(websocket, error)
        return
    account_id = str(actor.account_id)
    subscription = bus.subscribe("*")
    try:
        await websocket.accept()
        await websocket.send_json({"type": "subscribed", **filters.as_dict()})

        async def forward() -> None:
            async for event in subscription:
                if event.topic == GAP_TOPIC:
                    await websocket.send_json({"type": "gap", **event.payload})
                elif mine(event, account_id) and filters.passes(event) and allowed(actor, event.topic):
                    data = {k: v for k, v in event.payload.items() if k != "account_id"}
                    await websocket.send_json({"type": "event", "topic": event.topic, "data": data})

        sender = asyncio.create_task(forward())
        try:
            while True:
                message = await websocket.receive_text()
                try:
                    body = json.loads(message)
                    if not isinstance(body, dict) or body.get("type") != "subscribe":
                        raise ChasmError(
                            'Send {"type": "subscribe", ...} to change the filters', 400, "invalid_message"
                        )
                    filters = Filters(
                        topics=_topics(body.get("topics", list(DEFAULT_TOPICS))),
                        chat_ids=_ids(body.get("chat_ids", [])),
                        workspace_ids=_ids(body.get("workspace_ids", [])),
                    )
                except ValueError:
                    await websocket.send_json(
                        {"type": "error", "code": "INVALID_JSON", "message": "Not JSON"}
                    )
                    continue
                except ChasmError as error:
                    await websocket.send_json(
                        {"type": "error", "code": error.code.upper(), "message": error.message}
                    )
                    continue
                await websocket.send_json({"type": "subscribed", **filters.as_dict()})
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
    finally:
        subscription.close()
