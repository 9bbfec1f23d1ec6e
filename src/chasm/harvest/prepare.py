"""A unit parsed and made into rows where it is parsed (a parser thread or process), so that what
reaches the store is compact: a few plain rows per chat, not a tree of parsed objects to pickle
back and turn into rows while the store waits.

`prepare_unit` runs the source under the guard every parse runs under (`guarded_parse`: the
collector paused, an exception made a parse issue), then builds each chat's message rows and chat
columns (`rowdata`). For SQLite the rows come encoded as the store's statements bind them (ids as
hex, timestamps as text, JSON as text: what SQLAlchemy's processors would make of them), so the
store only executes them. A unit parsed on from an offset (appended to) is returned as parsed:
which of its records are new depends on what is stored. Nothing here imports SQLAlchemy or the
models: a parser process starts in a fraction of the time.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chasm.harvest.model import ParsedChat, ParseIssue, ParseOutcome, Resume, SourceUnit
from chasm.harvest.rowdata import aware, chat_totals, chat_values, json_text, message_rows, workspace_key
from chasm.harvest.spec import HarvestSource
from chasm.harvest.units import HEAD_BYTES, head_hash
from chasm.kit.gcpause import pause_gc, resume_gc

log = logging.getLogger("chasm.harvest")


@dataclass(slots=True)
class PreparedChat:
    """A parsed chat as rows: its messages' rows (with `chat_id` as the chat's id, encoded when the
    outcome is) and its columns of `chats` (`values` without the workspace, which the store finds
    or creates from `workspace`; `title` and `metadata` only when the source knows them)."""

    source_id: str
    chat_id: uuid.UUID  # the id the chat gets if it is new
    rows: list[tuple[Any, ...]]
    values: dict[str, Any]
    totals: dict[str, Any]
    workspace: tuple[str, str] | None
    created_at: datetime | None  # the source's, when it records one
    message_count: int  # messages parsed, for the engine's live updates


@dataclass(slots=True)
class PreparedOutcome:
    chats: list[PreparedChat]
    issues: list[ParseIssue]
    resume: Resume | None
    head: str | None  # hash of the first bytes of a resumable unit, read after parsing it
    encoded: bool  # rows encoded for SQLite


Outcome = ParseOutcome | PreparedOutcome


def guarded_parse(
    source: HarvestSource, unit: SourceUnit, resume: Resume | None = None
) -> tuple[ParseOutcome, bool]:
    """`source.parse` with the collector paused; a source that raises (a bug met on odd input) gives
    an outcome with that one issue and True: the engine then stores nothing of the unit, which keeps
    what it stored before and is parsed again next time."""
    pause_gc()  # as `gc_pause`, without a generator per unit (many units are small)
    try:
        return source.parse(unit, resume), False
    except Exception as exc:  # noqa: BLE001 - a source's bug must not stop the harvest
        log.warning("harvest parse of %s failed", unit.key, exc_info=True)
        path = str(unit.paths[0]) if unit.paths else unit.key
        return ParseOutcome([], [ParseIssue(path, f"could not be parsed: {type(exc).__name__}: {exc}")]), True
    finally:
        resume_gc()


def prepare_unit(
    source: HarvestSource, unit: SourceUnit, resume: Resume | None, size: int, encode: bool
) -> tuple[Outcome, bool]:
    """The unit parsed (`guarded_parse`) and, unless it failed or was parsed on from `resume`, made
    into rows. Should making the rows raise, the outcome comes back as parsed: the store then meets
    the same error and reports the unit as not stored."""
    outcome, failed = guarded_parse(source, unit, resume)
    if failed or resume is not None:
        return outcome, failed
    pause_gc()
    try:
        chats = [prepare_chat(chat, encode) for chat in outcome.chats]
    except Exception:  # noqa: BLE001 - stored (and reported) the ordinary way
        log.debug("rows of %s not prepared", unit.key, exc_info=True)
        return outcome, False
    finally:
        resume_gc()
    head = head_hash(unit.paths[0], min(size, HEAD_BYTES)) if unit.resumable else None
    return PreparedOutcome(chats, outcome.issues, outcome.resume, head, encode), False


def prepare_units(
    source: HarvestSource, units: list[tuple[SourceUnit, Resume | None, int]], encode: bool
) -> list[tuple[Outcome, bool]]:
    """`prepare_unit` of each (unit, resume, size): one task of a parser process."""
    return [prepare_unit(source, unit, resume, size, encode) for unit, resume, size in units]


def prepare_chat(parsed: ParsedChat, encode: bool) -> PreparedChat:
    chat_id = uuid.uuid4()
    rows = message_rows(chat_id, parsed.messages, 0, set(), clean_json=not encode)
    values = chat_values(parsed, None)
    del values["workspace_id"]
    return PreparedChat(
        source_id=parsed.source_id,
        chat_id=chat_id,
        rows=[sqlite_message_row(r) for r in rows.rows] if encode else rows.rows,
        values=values,
        totals=chat_totals(parsed, rows),
        workspace=workspace_key(parsed),
        created_at=aware(parsed.created_at),
        message_count=len(parsed.messages),
    )


def sqlite_datetime(value: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy's SQLite DATETIME stores it (its fields, the zone dropped)."""
    if value is None:
        return None
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def sqlite_message_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A `chat_messages` row (`MESSAGE_COLUMNS` order) as the store binds it on SQLite: the ids as
    hex, the JSON columns as text (a None as JSON null, as SQLAlchemy's JSON type writes it), the
    timestamp as text."""
    return (
        row[0].hex,
        row[1].hex,
        *row[2:6],
        json_text(row[6]),
        *row[7:16],
        sqlite_datetime(row[16]),
        json_text(row[17]),
    )


def with_chat_id(chat: PreparedChat, chat_id: uuid.UUID, encoded: bool) -> list[tuple[Any, ...]]:
    """The chat's rows for a chat stored before under `chat_id`."""
    stored = chat_id.hex if encoded else chat_id
    return [(row[0], stored, *row[2:]) for row in chat.rows]
