"""Library updates from the chat API's writes, without touching its code: every ORM session of
the server's sessionmaker carries the bus (`session.info`), and a flush that creates, changes or
deletes a chat (its messages move `message_count`) is announced once its transaction commits.
Writes that are not ORM changes of a chat (the harvest's bulk statements) and writers that
announce for themselves (recording: `QUIET`) are not seen here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

from chasm.kit.events import EventBus
from chasm.models import Chat
from chasm.realtime import topics

BUS = "chasm.events"
QUIET = "chasm.events.quiet"  # set by a writer that publishes its own updates
_PENDING = "chasm.events.pending"


def install(maker: async_sessionmaker[AsyncSession], bus: EventBus) -> None:
    info = dict(maker.kw.get("info") or {})
    info[BUS] = bus
    maker.configure(info=info)


def _pending(db: Session) -> dict[uuid.UUID, dict[str, Any]]:
    found: dict[uuid.UUID, dict[str, Any]] = db.info.setdefault(_PENDING, {})
    return found


def _note(db: Session, chat: Chat, change: str, appended: int = 0) -> None:
    pending = _pending(db)
    current = pending.get(chat.id)
    if current is None:
        pending[chat.id] = current = {
            "change": change,
            "account_id": chat.account_id,
            "workspace_id": chat.workspace_id,
            "appended": 0,
        }
    elif change in ("created", "deleted"):
        current["change"] = "deleted" if change == "deleted" else current["change"]
    current["appended"] += appended


@event.listens_for(Session, "after_flush")
def _collect(db: Session, _flush: UOWTransaction) -> None:
    if db.info.get(BUS) is None or db.info.get(QUIET):
        return
    for obj in db.new:
        if isinstance(obj, Chat):
            _note(db, obj, "created", obj.message_count or 0)
    for obj in db.dirty:
        if isinstance(obj, Chat) and db.is_modified(obj):
            history = inspect(obj).attrs.message_count.history
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            appended = max(0, (after or 0) - (before or 0)) if before is not None and after is not None else 0
            _note(db, obj, "updated", appended)
    for obj in db.deleted:
        if isinstance(obj, Chat):
            _note(db, obj, "deleted")


@event.listens_for(Session, "after_commit")
def _announce(db: Session) -> None:
    pending = db.info.pop(_PENDING, None)
    bus = db.info.get(BUS)
    if not pending or bus is None:
        return
    for chat_id, p in pending.items():
        where = {"chat_id": chat_id, "workspace_id": p["workspace_id"], "source": "api"}
        account = p["account_id"]
        if p["change"] == "deleted":
            topics.publish_soon(bus, topics.CHAT_DELETED, topics.library_event(account, **where))
            continue
        topic = topics.CHAT_CREATED if p["change"] == "created" else topics.CHAT_UPDATED
        topics.publish_soon(bus, topic, topics.library_event(account, **where))
        if p["appended"] and p["change"] != "created":
            payload = topics.library_event(account, **where, count=p["appended"])
            topics.publish_soon(bus, topics.MESSAGES_APPENDED, payload)


@event.listens_for(Session, "after_soft_rollback")
def _forget(db: Session, _previous: Any) -> None:
    db.info.pop(_PENDING, None)
