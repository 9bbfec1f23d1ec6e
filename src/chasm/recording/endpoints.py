"""Recording routes of spec 003: `/api/recording/...` (built for the /api surface only: 001 has
no recording API) and the WebSocket `/ws/recording`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from chasm.auth.deps import ChatReader, ChatWriter, SessionMaker, websocket_chat_actor
from chasm.kit import jsonfast
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.errors import ChasmError
from chasm.kit.events import EventBus
from chasm.kit.surface import ChatRouter, Page
from chasm.recording import service
from chasm.recording.schemas import (
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    RecordingAck,
    RecordingBatchIn,
    RecordingEventIn,
    RecordingSessionDetail,
    RecordingSessionRead,
    RecordingStatus,
    RecoveryResult,
    SnapshotIn,
    SnapshotResult,
)
from chasm.sessions.access import refuse

log = logging.getLogger("chasm.recording")
routes = ChatRouter(tag=Tag.RECORDING)
socket_router = APIRouter(prefix="/ws", tags=[Tag.RECORDING])


def runtime_of(app: Any) -> service.RecordingRuntime:
    runtime: service.RecordingRuntime = app.state.recording
    return runtime


def bus_of(app: Any) -> EventBus | None:
    return getattr(app.state, "events", None)


@routes.post("/recording/events", model=RecordingAck)
async def record_events(
    actor: ChatWriter,
    maker: SessionMaker,
    request: Request,
    body: Annotated[RecordingEventIn | RecordingBatchIn, Body()],
) -> RecordingAck:
    """Store one event, or a batch (`{"events": [...]}`) in one transaction: acknowledged once
    committed. A retried `event_id` is stored once; a batch with a refused event stores nothing."""
    events = body.events if isinstance(body, RecordingBatchIn) else [body]
    acks = await service.record(maker, runtime_of(request.app), bus_of(request.app), actor, events)
    return RecordingAck.model_validate({"acked": len(acks), "acks": acks})


@routes.post("/recording/snapshot", model=SnapshotResult)
async def record_snapshot(
    actor: ChatWriter, maker: SessionMaker, request: Request, body: SnapshotIn
) -> SnapshotResult:
    """A whole session as the client holds it, reconciled with the events already stored."""
    return await service.snapshot(maker, runtime_of(request.app), bus_of(request.app), actor, body)


@routes.get("/recording/sessions", model=RecordingSessionRead, paged=True)
async def list_recording_sessions(
    actor: ChatReader,
    db: DbSession,
    state: Annotated[Literal["active", "ended", "all"], Query()] = "active",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[RecordingSessionRead]:
    """Recording sessions, the active ones unless `state` says otherwise, latest first."""
    items, total = await service.list_sessions(db, actor, state, limit, offset)
    return Page(items, total, limit, offset)


@routes.get("/recording/sessions/{session_id}", model=RecordingSessionDetail)
async def get_recording_session(
    actor: ChatReader,
    db: DbSession,
    session_id: str,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> RecordingSessionDetail:
    """A recording session with its events in order (those after `after_seq`)."""
    return await service.get_session(db, actor, session_id, after_seq, limit)


@routes.get("/recording/recovery", model=RecoveryResult)
async def recovery(actor: ChatWriter, db: DbSession, request: Request) -> RecoveryResult:
    """Sessions that were in flight when an earlier server process stopped (crash, restart),
    reopened, each with its last stored event so its client resumes after it."""
    return await service.recover(db, runtime_of(request.app), actor)


@routes.get("/recording/status", model=RecordingStatus)
async def recording_status(actor: ChatReader, db: DbSession) -> RecordingStatus:
    """The recording service's state: active sessions, stored events, limits."""
    return await service.status(db, actor)


def _error(error: ChasmError, ref: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "code": error.code.upper(), "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    if ref is not None:
        body["ref"] = ref
    return body


def _parse(text: str) -> tuple[list[RecordingEventIn], Any]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES * 4:
        raise ChasmError("The message is too large", status_code=413, code="event_too_large")
    try:
        raw = jsonfast.loads(text)
    except ValueError:
        raise ChasmError("The message is not JSON", status_code=400, code="invalid_json") from None
    ref = raw.pop("ref", None) if isinstance(raw, dict) else None
    try:
        if isinstance(raw, dict) and "events" in raw:
            return RecordingBatchIn.model_validate(raw).events, ref
        return [RecordingEventIn.model_validate(raw)], ref
    except ValidationError as e:
        details = [{"loc": [str(x) for x in err["loc"]], "msg": err["msg"]} for err in e.errors()]
        raise ChasmError("Invalid event", status_code=400, code="validation_error", details=details) from None


def _json(reply: dict[str, Any]) -> str:
    try:
        return orjson.dumps(reply).decode()
    except TypeError:  # a client's ref orjson cannot write (an integer beyond 64 bits)
        return json.dumps(reply, separators=(",", ":"))


@socket_router.websocket("/recording")
async def recording_socket(websocket: WebSocket) -> None:
    """Stream events: each text message is one event or a batch `{"events": [...]}` (with an
    optional `ref` echoed back). Each is answered in order, once committed, by
    `{"type": "ack", "acks": [{event_id, session_id, seq, duplicate}], "ref"}`, or by
    `{"type": "error", "code", "message", "details", "ref"}` (nothing of it stored)."""
    try:
        actor = await websocket_chat_actor(websocket, "chats.write")
    except ChasmError as error:
        await refuse(websocket, error)
        return
    await websocket.accept()
    app = websocket.app
    await websocket.send_json(
        {"type": "ready", "max_event_bytes": MAX_EVENT_BYTES, "max_batch_events": MAX_BATCH_EVENTS}
    )
    replies: asyncio.Queue[asyncio.Future[dict[str, Any]] | None] = asyncio.Queue(IN_FLIGHT)
    sender = asyncio.create_task(_send_replies(websocket, replies))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            # Read ahead: the next messages are parsed and waiting while this one is being
            # written, so that they share its transaction (group commit); replies stay in order.
            await replies.put(asyncio.ensure_future(_handle(app, actor, message)))
    except WebSocketDisconnect:
        return
    finally:
        await replies.put(None)
        with contextlib.suppress(Exception):
            await sender


IN_FLIGHT = 16  # a connection's messages read ahead, waiting to be stored or answered


async def _handle(app: Any, actor: Any, message: Mapping[str, Any]) -> dict[str, Any]:
    text = message.get("text")
    if text is None:
        try:
            text = (message.get("bytes") or b"").decode("utf-8")
        except UnicodeDecodeError:
            return _error(ChasmError("The message is not valid UTF-8", 400, "invalid_utf8"), None)
    ref = None
    try:
        events, ref = _parse(text)
        acks = await service.record(app.state.sessionmaker, runtime_of(app), bus_of(app), actor, events)
    except ChasmError as error:
        return _error(error, ref)
    reply: dict[str, Any] = {"type": "ack", "acks": acks}
    if ref is not None:
        reply["ref"] = ref
    return reply


async def _send_replies(
    websocket: WebSocket, replies: asyncio.Queue[asyncio.Future[dict[str, Any]] | None]
) -> None:
    """Each message's reply, in the order the messages came, once it is ready. After a failure (the
    client gone, or an unexpected error, which closes the connection) the rest are only drained."""
    failed = False
    while (pending := await replies.get()) is not None:
        if failed:
            pending.cancel()  # not stored unless already taken; never acknowledged
            continue
        try:
            reply = await pending
        except Exception:
            log.exception("recording: storing a WebSocket message failed")
            failed = True
            with contextlib.suppress(Exception):
                await websocket.close(1011)
            continue
        try:
            await websocket.send_text(_json(reply))
        except (WebSocketDisconnect, RuntimeError, OSError):
            failed = True
