"""Secrets in the chat library: find them (`scan`) and rewrite the stored copy without them
(`redact`, and again on the chats each later harvest writes: `redact_harvested`). Only the
library's own rows change, never the tools' files; the search index follows the rows (FTS5
triggers, PostgreSQL generated vectors). A message's content hash is kept, so a harvest that
appends to a chat recognises the redacted messages and does not store them again."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.chats.exceptions import ChatNotFound
from chasm.harvest.tool_text import tool_text
from chasm.secrets import repository as repo
from chasm.secrets import rules
from chasm.secrets.exceptions import UnknownRule
from chasm.secrets.schemas import RedactRequest, RedactResult, SecretFinding, SecretScan

RULE_IDS = {rule.id for rule in rules.RULES}


async def _check_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID | None) -> None:
    if chat_id is not None and not await repo.chat_exists(db, actor.account_id, chat_id):
        raise ChatNotFound()


async def scan(
    db: AsyncSession, actor: Actor, chat_id: uuid.UUID | None = None, limit: int = 100, offset: int = 0
) -> SecretScan:
    """Every secret in the account's chats (or one chat), in chat and message order."""
    await _check_chat(db, actor, chat_id)
    found: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = []  # (chat, seq, field order, finding)
    scanned = 0
    async for batch in repo.message_batches(db, actor.account_id, None if chat_id is None else {chat_id}):
        for row in batch:
            scanned += 1
            calls = json.dumps(row.tool_calls, ensure_ascii=False) if row.tool_calls else ""
            for name, text in (("content", row.content), ("thinking", row.thinking), ("tool_calls", calls)):
                for match, excerpt in _findings(text or ""):
                    finding = {"message_id": row.id, "seq": row.seq, "role": row.role, "field": name}
                    found.append(
                        (row.chat_id, row.seq, name, {**finding, **_describe(match), "excerpt": excerpt})
                    )
    chats = {c.id: c for c in await repo.chats(db, actor.account_id, None if chat_id is None else {chat_id})}
    for chat in chats.values():
        for match, excerpt in _findings(chat.title or ""):
            finding = {"message_id": None, "seq": None, "role": None, "field": "title"}
            found.append((chat.id, -1, "title", {**finding, **_describe(match), "excerpt": excerpt}))
    found.sort(key=lambda f: (f[0].hex, f[1], f[2]))
    page = [
        SecretFinding(
            chat_id=cid,
            chat_title=rules.masked_text(chats[cid].title or "") if cid in chats else "",
            provider=chats[cid].provider if cid in chats else "",
            **finding,
        )
        for cid, _, _, finding in found[offset : offset + limit]
    ]
    return SecretScan(
        findings=page,
        total=len(found),
        chats=len({f[0] for f in found}),
        messages_scanned=scanned,
        limit=limit,
        offset=offset,
    )


def _findings(text: str) -> list[tuple[rules.Match, str]]:
    matches = list(rules.find(text))
    return [(m, rules.excerpt(text, m, matches)) for m in matches]


def _describe(match: rules.Match) -> dict[str, str]:
    return {"rule": match.rule.id, "description": match.rule.description}


async def redact(db: AsyncSession, actor: Actor, body: RedactRequest) -> RedactResult:
    """Replace every secret (of `body.rules`, in `body.chat_id`, by default all) in the stored
    messages and titles with `[REDACTED:<rule>]`."""
    wanted = set(body.rules) if body.rules else RULE_IDS
    unknown = sorted(wanted - RULE_IDS)
    if unknown:
        raise UnknownRule(f"Unknown rule(s): {', '.join(unknown)}; known: {', '.join(sorted(RULE_IDS))}")
    await _check_chat(db, actor, body.chat_id)
    result = await _redact_chats(
        db, actor.account_id, None if body.chat_id is None else {body.chat_id}, wanted
    )
    record(
        db,
        actor,
        repo.REDACT_ACTION,
        "chat" if body.chat_id else None,
        body.chat_id,
        summary=f"{result.secrets_redacted} secrets in {result.chats} chats",
        metadata={"rules": sorted(wanted)},
    )
    return result


async def redact_harvested(db: AsyncSession, account_id: uuid.UUID, chat_ids: set[uuid.UUID]) -> int:
    """After a harvest: an account that redacted its library once gets the chats the harvest
    wrote redacted too (a re-parsed file brings its secrets back). Answers the secrets redacted."""
    if not chat_ids or not await repo.has_redacted(db, account_id):
        return 0
    return (await _redact_chats(db, account_id, chat_ids, RULE_IDS)).secrets_redacted


async def _redact_chats(
    db: AsyncSession, account_id: uuid.UUID, chat_ids: set[uuid.UUID] | None, wanted: set[str]
) -> RedactResult:
    redacted = rewritten = 0
    touched: set[uuid.UUID] = set()
    async for batch in repo.message_batches(db, account_id, chat_ids):
        for row in batch:
            values: dict[str, Any] = {}
            count = 0
            for name in ("content", "thinking"):
                text, n = _redact(getattr(row, name), wanted)
                if n:
                    values[name], count = text, count + n
            if row.tool_calls:
                calls, n = _redact_json(row.tool_calls, wanted)
                if n:
                    values["tool_calls"], count = calls, count + n
                    values["tool_text"] = tool_text(c for c in calls if isinstance(c, dict))
            if count:
                await repo.rewrite_message(db, row.id, values)
                redacted, rewritten = redacted + count, rewritten + 1
                touched.add(row.chat_id)
    titles = 0
    for chat in await repo.chats(db, account_id, chat_ids):
        title, n = _redact(chat.title, wanted)
        if n:
            await repo.rewrite_title(db, chat.id, title or "")
            redacted, titles = redacted + n, titles + 1
            touched.add(chat.id)
    return RedactResult(
        secrets_redacted=redacted, messages_rewritten=rewritten, titles_rewritten=titles, chats=len(touched)
    )


def _redact(text: str | None, wanted: set[str]) -> tuple[str | None, int]:
    if not text:
        return text, 0
    matches = [m for m in rules.find(text) if m.rule.id in wanted]
    if not matches:
        return text, 0
    parts, last = [], 0
    for m in matches:
        parts += [text[last : m.start], f"[REDACTED:{m.rule.id}]"]
        last = m.end
    parts.append(text[last:])
    return "".join(parts), len(matches)


def _redact_json(value: Any, wanted: set[str]) -> tuple[Any, int]:
    """A copy of a JSON value with the secrets of its strings (keys included) redacted."""
    if isinstance(value, str):
        text, n = _redact(value, wanted)
        return text, n
    if isinstance(value, list):
        items = [_redact_json(v, wanted) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        total = 0
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key, n = _redact(key, wanted)
            new_item, m = _redact_json(item, wanted)
            out[new_key or key] = new_item
            total += n + m
        return out, total
    return value, 0
