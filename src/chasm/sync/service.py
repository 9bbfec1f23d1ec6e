"""Sync the library with a remote one: a three-way comparison per chat between this library (L),
the remote (R) and the version both agreed on at the last sync (B, kept in sync_entries).

- L changed, R not: send L (a tombstone if L was deleted). R changed, L not: apply R here.
- Both changed: a conflict. L stays; R is imported as a fork of it (a new chat, so nothing is
  overwritten) and both are sent. Exception: when one side's messages extend the other's and the
  rest is the same, the longer one is taken (one conversation harvested at two moments).
- A remote chat that vanished (not a tombstone) is sent again; it never deletes anything here.

Order, so that a failure leaves the library as it was: read the remote (manifest, listing, the
versions to apply), send this side's changes, then apply everything here in one transaction. A
failure before that transaction changes nothing here; objects already sent are recognised as
agreed at the next sync."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor, require_instance_admin
from chasm.chats import repository as chats_repo
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.sync import repository as repo
from chasm.sync.documents import (
    DELETED,
    doc_fingerprint,
    doc_head,
    doc_lines,
    export,
    fingerprint,
    head,
    import_doc,
    sync_id,
)
from chasm.sync.exceptions import SyncCorrupt, SyncEncryptionMismatch, SyncNotConfigured
from chasm.sync.schemas import SyncResponse
from chasm.sync.sealing import Sealer, derive_key
from chasm.sync.storage import Remote
from chasm.system import service as system

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
UPLOAD_BATCH = 200


@dataclass
class _Local:
    chat_id: uuid.UUID | None
    tag: str  # DELETED when deleted here since the last sync
    head: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    push: list[str] = field(default_factory=list)
    pull: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    agreed: dict[str, str] = field(default_factory=dict)  # sync_id -> tag both sides have


async def _thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


async def _open(db: AsyncSession, actor: Actor, settings: Settings) -> tuple[Remote, Sealer, str]:
    doc = await system.get_settings(db, actor)
    if not doc.sync_enabled:
        raise SyncNotConfigured("sync is off: set sync_enabled (and sync_provider) in the settings")
    location = settings.sync_locations.get(doc.sync_provider)
    if not location:
        raise SyncNotConfigured(f"the server has no sync location for {doc.sync_provider!r} (sync_locations)")
    if doc.encryption_enabled and not settings.sync_encryption_key:
        raise SyncNotConfigured("encryption_enabled needs the server's sync_encryption_key")
    remote = await _thread(Remote, location, settings.sync_storage_options.get(doc.sync_provider, {}))
    try:
        sealer = await _seal(remote, doc.encryption_enabled, settings)
    except BaseException:
        await _thread(remote.close)
        raise
    return remote, sealer, location


async def _seal(remote: Remote, encrypted: bool, settings: Settings) -> Sealer:
    """The sealer the remote's manifest asks for (written first when the remote is new)."""
    manifest = await _thread(remote.read_manifest)
    if manifest is None:
        salt = os.urandom(16)
        manifest = {"encrypted": encrypted, "salt": salt.hex()}
        sealer = Sealer(derive_key(settings.sync_encryption_key or "", salt) if encrypted else None)
        manifest["check"] = sealer.check_token()
        await _thread(remote.write_manifest, manifest)
        return sealer
    if bool(manifest.get("encrypted")) != encrypted:
        state = "encrypted" if manifest.get("encrypted") else "not encrypted"
        raise SyncEncryptionMismatch(f"the remote library is {state}; set encryption_enabled to match")
    try:
        salt = bytes.fromhex(str(manifest["salt"]))
        token = str(manifest["check"])
    except (KeyError, ValueError) as exc:
        raise SyncCorrupt("the remote manifest.json lacks its salt or key check") from exc
    sealer = Sealer(derive_key(settings.sync_encryption_key or "", salt) if encrypted else None)
    await _thread(sealer.verify, token)
    return sealer


async def _local_state(db: AsyncSession, account_id: uuid.UUID, sealer: Sealer) -> dict[str, _Local]:
    lines = await repo.message_hashes(db, account_id)
    state: dict[str, _Local] = {}
    for chat_id, provider, source_id, title, tags, archived, model, path in await repo.chat_heads(
        db, account_id
    ):
        mine = lines.get(chat_id, [])
        chat_head = head(title, tags, archived, model, path)
        state[sync_id(provider, source_id)] = _Local(
            chat_id, sealer.tag(fingerprint(chat_head, mine)), chat_head, mine
        )
    for sid, entry in (await repo.entries(db, account_id)).items():
        if sid not in state and entry.base != DELETED:
            state[sid] = _Local(None, DELETED)  # deleted here since the last sync
    return state


def _remote_tag(tags: list[str], base: str | None) -> str:
    """With several versions stored (two pushes raced), the one this side has not seen wins."""
    fresh = [t for t in tags if t != base]
    return sorted(fresh)[0] if fresh else tags[0]


def _plan(local: dict[str, _Local], remote: dict[str, list[str]], bases: dict[str, str]) -> _Plan:
    plan = _Plan()
    for sid in set(local) | set(remote):
        mine = local.get(sid)
        base = bases.get(sid)
        theirs = _remote_tag(remote[sid], base) if sid in remote else None
        l_tag = mine.tag if mine else (DELETED if base == DELETED else None)
        if l_tag == theirs:
            if theirs is not None:
                plan.agreed[sid] = theirs
        elif theirs is None:
            if l_tag != DELETED:
                plan.push.append(sid)  # new here, or vanished remotely: send it
        elif l_tag is None:
            plan.pull.append(sid)  # new remotely
        elif theirs == base:
            plan.push.append(sid)
        elif l_tag == base:
            plan.pull.append(sid)
        else:
            plan.conflicts.append(sid)
    return plan


def _name(sid: str, tag: str) -> str:
    return f"chats/{sid}/{tag}"


async def _download(remote: Remote, sealer: Sealer, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    blobs = await _thread(remote.get, list(names.values()))
    docs: dict[str, dict[str, Any]] = {}
    for sid, name in names.items():
        try:
            docs[sid] = json.loads(sealer.open(name, blobs[name]))
        except ValueError as exc:
            raise SyncCorrupt(f"{name} is not a chat document") from exc
    return docs


def _extends(longer: list[str], shorter: list[str]) -> bool:
    return len(longer) >= len(shorter) and longer[: len(shorter)] == shorter


async def _round(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    remote: Remote,
    sealer: Sealer,
    location: str,
    progress: Progress,
) -> tuple[int, int, int]:
    account_id = actor.account_id
    async with maker() as db:
        status = await repo.status(db, account_id)
        fresh_location = status is None or status.location != location
        entries = {} if fresh_location else await repo.entries(db, account_id)
        local = await _local_state(db, account_id, sealer)
    bases = {sid: e.base for sid, e in entries.items()}
    if fresh_location:
        local = {sid: v for sid, v in local.items() if v.tag != DELETED}
    progress("list", 0, 1)
    listing = await _thread(remote.list_chats)
    progress("list", 1, 1)
    plan = _plan(local, listing, bases)

    wanted = {
        sid: _name(sid, _remote_tag(listing[sid], bases.get(sid))) for sid in plan.pull + plan.conflicts
    }
    wanted = {sid: name for sid, name in wanted.items() if not name.endswith("/" + DELETED)}
    progress("download", 0, len(wanted))
    docs = await _download(remote, sealer, wanted)
    progress("download", len(wanted), len(wanted))

    # Conflicts where one side only appended messages are not conflicts.
    for sid in list(plan.conflicts):
        ours, theirs = local[sid], docs.get(sid)
        if theirs is None or ours.tag == DELETED or doc_head(theirs) != ours.head:
            continue
        their_lines = doc_lines(theirs)
        if _extends(their_lines, ours.lines):
            plan.conflicts.remove(sid)
            plan.pull.append(sid)
        elif _extends(ours.lines, their_lines):
            plan.conflicts.remove(sid)
            plan.push.append(sid)
            docs.pop(sid)

    to_send = plan.push + [sid for sid in plan.conflicts if local[sid].tag != DELETED]
    uploaded = await _upload(maker, account_id, remote, sealer, local, listing, to_send, progress)

    downloaded = 0
    async with transaction(maker) as db:
        if fresh_location:
            await repo.forget_location(db, account_id)
        rows = await repo.entries(db, account_id)  # one query, not one per set_entry
        for sid, tag in plan.agreed.items():
            chat_id = local[sid].chat_id if sid in local else None
            if (known := rows.get(sid)) is None or known.base != tag or known.chat_id != chat_id:
                await repo.set_entry(db, account_id, sid, chat_id, tag, rows)
        for sid in to_send:
            await repo.set_entry(db, account_id, sid, local[sid].chat_id, local[sid].tag, rows)
        for sid in plan.pull:
            tag = _remote_tag(listing[sid], bases.get(sid))
            downloaded += 1
            if tag == DELETED:
                mine = local.get(sid)
                chat = (
                    await chats_repo.get_chat(db, account_id, mine.chat_id) if mine and mine.chat_id else None
                )
                if chat is not None:
                    await chats_repo.delete_chat(db, chat)
                await repo.set_entry(db, account_id, sid, None, DELETED, rows)
                continue
            chat = await import_doc(db, account_id, docs[sid])
            await repo.set_entry(db, account_id, sid, chat.id, sealer.tag(doc_fingerprint(docs[sid])), rows)
        for sid in plan.conflicts:
            their_tag = _remote_tag(listing[sid], bases.get(sid))
            if sid not in docs:  # their tombstone against our change: ours is kept and sent again
                continue
            if local[sid].tag == DELETED:  # our deletion against their change: theirs comes back
                chat = await import_doc(db, account_id, docs[sid])
                await repo.set_entry(db, account_id, sid, chat.id, their_tag, rows)
                downloaded += 1
                continue
            doc = docs[sid]
            fork_source = f"{doc['chat']['source_id']}~conflict-{their_tag[:8]}"
            await import_doc(
                db,
                account_id,
                doc,
                source_id=fork_source,
                parent_chat_id=local[sid].chat_id,
                title_suffix=" (conflicting copy)",
            )
            downloaded += 1
        await repo.set_status(db, account_id, location, utcnow())
    return uploaded, downloaded, len(plan.conflicts)


async def _upload(
    maker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    remote: Remote,
    sealer: Sealer,
    local: dict[str, _Local],
    listing: dict[str, list[str]],
    sids: list[str],
    progress: Progress,
) -> int:
    progress("upload", 0, len(sids))
    done = 0
    for start in range(0, len(sids), UPLOAD_BATCH):
        batch = sids[start : start + UPLOAD_BATCH]
        objects: dict[str, bytes] = {}
        ids = [local[s].chat_id for s in batch if local[s].chat_id is not None]
        async with maker() as db:
            chats = {c.id: c for c in await repo.chats(db, account_id, [i for i in ids if i])}
            messages = await repo.messages_of(db, list(chats))
            spaces = await repo.workspaces(db, [c.workspace_id for c in chats.values() if c.workspace_id])
        for sid in batch:
            mine = local[sid]
            name = _name(sid, mine.tag)
            if mine.tag == DELETED:
                objects[name] = sealer.seal(name, json.dumps({"deleted": True}).encode())
                continue
            chat = chats[mine.chat_id]  # type: ignore[index]
            doc = export(
                chat, messages[chat.id], spaces.get(chat.workspace_id) if chat.workspace_id else None
            )
            objects[name] = sealer.seal(name, json.dumps(doc, default=str).encode())
        await _thread(remote.put, objects)
        stale = [_name(s, t) for s in batch for t in listing.get(s, []) if t != local[s].tag]
        await _thread(remote.remove, stale)
        done += len(batch)
        progress("upload", done, len(sids))
    return done


async def sync(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    actor: Actor,
    progress: Progress | None = None,
) -> SyncResponse:
    """Push and pull the library (001 POST /sync)."""
    require_instance_admin(actor, "sync the library to the server's storage")
    report = progress or (lambda stage, done, total: None)
    async with maker() as db:
        remote, sealer, location = await _open(db, actor, settings)
    try:
        uploaded, downloaded, conflicts = await _round(maker, actor, remote, sealer, location, report)
        if conflicts:  # the forks made for conflicts go out now, not at the next sync
            more_up, more_down, _ = await _round(maker, actor, remote, sealer, location, report)
            uploaded, downloaded = uploaded + more_up, downloaded + more_down
    finally:
        await _thread(remote.close)
    async with maker() as db:
        status = await repo.status(db, actor.account_id)
    assert status is not None
    return SyncResponse(
        uploaded=uploaded, downloaded=downloaded, conflicts=conflicts, last_sync=status.last_sync
    )
