"""Full-text search latency over a large chat library.

    uv run python -m bench.search [--db PATH] [--messages 1000000] [--queries 50]
    uv run python -m bench.search --database-url postgresql://postgres@127.0.0.1:5432/DB ...

Reuses the SQLite database at --db (or $CHASM_BENCH_DB, e.g. the one the harvest benchmark leaves)
when it holds chats; otherwise builds one with synthetic but varied text (Zipf-distributed words,
code-like tokens, per-chat topics) through bulk Core inserts, the triggers keeping the index. With
--database-url (PostgreSQL) the library at --db is copied there once (same rows, the generated
vectors keeping that index) and searched there, so the two databases answer the same library. Then
runs 50 varied queries (words common and rare, phrases, OR, exclusions, prefixes, filters) through
the search service, as the HTTP endpoints do, and prints p50/p95 latencies (--per-query: each
query's). Figures only, no asserts. A harvested library holds none of the synthetic words: with
--library-words the queries are drawn from its own (the same plan on both databases).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import sqlite3
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chasm.auth.actor import Actor
from chasm.kit import cjk
from chasm.kit.db import create_engine, make_sessionmaker, migrate
from chasm.models import Account, Chat, ChatMessage, ChatWorkspace, User
from chasm.search import service

DEFAULT_DB = Path("/tmp/chasm-bench-search/chasm.db")
PROVIDERS = ("claude-code", "codex", "cursor", "copilot-vscode", "gemini-cli", "aider")
ROLES = ("user", "assistant", "assistant", "tool")
TOPICS = (
    "authentication oauth token refresh session cookie login password hash",
    "database migration postgres sqlite index query transaction schema",
    "frontend react component state hook render css layout",
    "kubernetes deployment container docker image registry helm",
    "parser lexer grammar syntax tree token compiler",
    "performance latency cache memory profiling benchmark throughput",
    "testing pytest fixture mock assertion coverage flaky",
    "websocket stream event queue worker retry backoff",
    "payment invoice billing stripe webhook subscription",
    "search index ranking snippet query relevance bm25",
)
SYLLABLES = [a + b for a in "bcdfghklmnprstvz" for b in ("a", "e", "i", "o", "u", "ar", "en", "ix", "ol")]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


class TextGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng, 30_000)
        weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(self.words))]
        total = 0.0
        self.cum: list[float] = []
        for w in weights:
            total += w
            self.cum.append(total)
        self.topics = [t.split() for t in TOPICS]

    def message(self, topic: int) -> str:
        rng = self.rng
        n = rng.randint(6, 70)
        words = rng.choices(self.words, cum_weights=self.cum, k=n)
        for _ in range(max(1, n // 8)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(self.topics[topic]))
        if rng.random() < 0.15:
            words.append(f"`{rng.choice(self.words)}_{rng.choice(self.words)}()`")
        return " ".join(words)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores UTC datetimes on SQLite


def build(db: Path, messages: int, seed: int = 7) -> None:
    """Bulk inserts on a plain sqlite3 connection (the generator, not the driver, is the bottleneck
    this way); the migration's triggers index every message as it is written."""
    rng = random.Random(seed)
    gen = TextGen(rng)
    account_id = uuid.uuid4().hex
    start = datetime(2025, 1, 1, tzinfo=UTC)
    conn = sqlite3.connect(db)
    cjk.register_sqlite(conn)  # the index triggers call it
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: random UUID keys touch the whole index
    conn.execute(
        "INSERT INTO accounts (id, name, kind, plan, created_at)"
        " VALUES (?, 'bench', 'organization', 'paid', ?)",
        (account_id, _ts(start)),
    )
    chat_sql = (
        "INSERT INTO chats (id, account_id, provider, source_id, source_missing, title, tags, archived,"
        " message_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, tool_call_count,"
        " started_at, updated_at, created_at) VALUES (?, ?, ?, ?, 0, ?, '[]', 0, ?, 0, 0, 0, 0, 0, ?, ?, ?)"
    )
    message_sql = (
        "INSERT INTO chat_messages (id, chat_id, seq, role, content, content_hash, input_tokens,"
        " output_tokens, cache_read_tokens, cache_write_tokens, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?)"
    )
    made, t0, reported = 0, time.perf_counter(), 0
    while made < messages:
        chats: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        while len(rows) < 20_000 and made < messages:
            chat_id = uuid.uuid4().hex
            topic = rng.randrange(len(TOPICS))
            length = min(rng.randint(4, 96), messages - made)
            began = start + timedelta(minutes=rng.randrange(600 * 24 * 60))
            title = " ".join(gen.message(topic).split()[:6])
            chats.append(
                (chat_id, account_id, rng.choice(PROVIDERS), chat_id, title, length)
                + (_ts(began), _ts(began + timedelta(minutes=length)), _ts(began))
            )
            for seq in range(length):
                content = gen.message(topic)
                role = ROLES[seq % 2] if rng.random() > 0.1 else "tool"
                digest = hashlib.sha1(content.encode()).hexdigest()
                stamp = _ts(began + timedelta(seconds=30 * seq))
                rows.append((uuid.uuid4().hex, chat_id, seq, role, content, digest, stamp))
            made += length
        with conn:
            conn.executemany(chat_sql, chats)
            conn.executemany(message_sql, rows)
        if made - reported >= 100_000 or made >= messages:
            reported = made
            print(f"  {made:>9,} messages inserted ({made / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _async_url(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


async def copy_library(source: AsyncEngine, target: AsyncEngine, batch: int = 5_000) -> None:
    """The accounts, chats and messages of `source` into `target`, unless it holds messages already."""
    async with target.connect() as conn:
        if int(await conn.scalar(select(func.count()).select_from(ChatMessage)) or 0):
            return
    print(f"Copying the library to {target.url.render_as_string(hide_password=True)} ...", flush=True)
    t0 = time.perf_counter()
    # A harvested library's accounts name their user, its chats their workspace (and parent chat).
    tables = (User, Account, ChatWorkspace, Chat, ChatMessage)
    for table in (model.__table__ for model in tables):
        rows = select(table)
        if table is Chat.__table__:
            rows = rows.order_by(Chat.parent_chat_id.is_not(None))
        async with source.connect() as read, target.begin() as write:
            result = await read.stream(rows)
            async for rows in result.partitions(batch):
                await write.execute(insert(table), [dict(r._mapping) for r in rows])
    async with target.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM ANALYZE"))
    print(f"  copied in {time.perf_counter() - t0:.1f} s", flush=True)


class Words:
    """The words a query plan draws from: frequent, middling and rare ones, topic words (frequent
    and meaningful), two-word phrases and the providers."""

    def __init__(
        self,
        common: list[str],
        mid: list[str],
        rare: list[str],
        topic: list[str],
        phrases: list[tuple[str, str]],
        providers: list[str],
    ) -> None:
        self.common, self.mid, self.rare, self.topic = common, mid, rare, topic
        self.phrases, self.providers = phrases, providers

    @classmethod
    def synthetic(cls, gen: TextGen) -> Words:
        pairs = [tuple(t.split()[:2]) for t in TOPICS]
        topic = [w for t in gen.topics for w in t]
        return cls(gen.words[:50], gen.words[200:2000], gen.words[8000:30000], topic, pairs, list(PROVIDERS))  # type: ignore[arg-type]

    @classmethod
    async def of_library(cls, engine: AsyncEngine, sample: int = 20_000) -> Words:
        """Words of the library itself (a harvested one: the synthetic words are not in it), from
        the first `sample` messages by id, so that both databases get the same plan."""
        async with engine.connect() as conn:
            first = select(ChatMessage.content).order_by(ChatMessage.id).limit(sample)
            texts = (await conn.execute(first)).scalars()
            providers = sorted((await conn.execute(select(Chat.provider).distinct())).scalars())
            counts: Counter[str] = Counter()
            pairs: Counter[tuple[str, str]] = Counter()
            for content in texts:
                words = re.findall(r"[a-z]{3,12}", (content or "").lower())
                counts.update(list(dict.fromkeys(words)))
                pairs.update(list(dict.fromkeys(zip(words, words[1:], strict=False))))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))  # ties by spelling: one plan per library
        rare = ranked[-max(1, len(ranked) // 5) :]  # the least frequent fifth (a copied corpus: no hapaxes)
        phrases = [p for p in sorted(pairs, key=lambda p: (-pairs[p], p))[100:400] if p[0] != p[1]]
        n = len(ranked)  # fixtures copied many times over: a few thousand distinct words
        common, topic = ranked[: n // 40 or 1], ranked[n // 40 : n // 10 or 1]
        return cls(common, ranked[n // 10 : n // 2 or 1], rare, topic, phrases, providers)


def queries(rng: random.Random, words: Words) -> list[tuple[str, dict[str, Any]]]:
    common, mid, rare, topic_words = words.common, words.mid, words.rare, words.topic
    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(8):
        out.append((rng.choice(topic_words), {}))
    for _ in range(8):
        out.append((rng.choice(rare), {}))
    for _ in range(6):
        out.append((f"{rng.choice(topic_words)} {rng.choice(mid)}", {}))
    for _ in range(5):
        a, b = rng.sample(words.phrases, 1)[0]
        out.append((f'"{a} {b}"', {}))
    for _ in range(5):
        out.append((f"{rng.choice(rare)} OR {rng.choice(rare)}", {}))
    for _ in range(4):
        out.append((f"{rng.choice(topic_words)} -{rng.choice(common)}", {}))
    for _ in range(4):
        out.append((rng.choice(mid)[:4] + "*", {}))
    for _ in range(4):
        out.append((rng.choice(topic_words), {"provider": rng.choice(words.providers)}))
    for _ in range(3):
        out.append((rng.choice(mid), {"role": "user"}))
    for _ in range(3):
        out.append((f"{rng.choice(common)} {rng.choice(topic_words)}", {}))
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("CHASM_BENCH_DB", DEFAULT_DB)))
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--per-query", action="store_true", help="print every query's figures")
    parser.add_argument(
        "--library-words",
        action="store_true",
        help="draw the queries from the library's own words (a harvested library), not the synthetic ones",
    )
    parser.add_argument("--database-url", default=None, help="search a PostgreSQL copy of the --db library")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite+aiosqlite:///{args.db}")
    await migrate(engine)
    async with engine.connect() as conn:
        existing = int(await conn.scalar(select(func.count()).select_from(ChatMessage)) or 0)
    # A harvested library (--library-words) is searched as it is: synthetic rows would join it.
    if existing < args.messages * 0.9 and not (args.library_words and existing):
        print(f"Building {args.messages:,} synthetic messages in {args.db} ...", flush=True)
        t0 = time.perf_counter()
        await asyncio.to_thread(build, args.db, args.messages - existing)
        print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.database_url:
        sqlite_engine, engine = engine, create_engine(_async_url(args.database_url))
        await migrate(engine)
        await copy_library(sqlite_engine, engine)
        await sqlite_engine.dispose()
    async with engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).select_from(ChatMessage)) or 0)
        account_id = await conn.scalar(
            select(Chat.account_id).group_by(Chat.account_id).order_by(func.count().desc()).limit(1)
        )
    if args.database_url:
        print(f"Corpus: {total:,} messages on PostgreSQL ({engine.url.database})")
    else:
        size = args.db.stat().st_size / 1024**2
        print(f"Corpus: {total:,} messages, database {size:,.0f} MiB")
    print("Load average at start: {:.2f} {:.2f} {:.2f} ({} CPUs)".format(*os.getloadavg(), os.cpu_count()))
    synthetic = Words.synthetic(TextGen(random.Random(7)))
    words = await Words.of_library(engine) if args.library_words else synthetic
    maker = make_sessionmaker(engine)
    async with maker() as db:
        account = await db.get(Account, account_id)
        assert account is not None
        actor = Actor("user", uuid.uuid4(), account, "owner", via="bench")
        rng = random.Random(11)
        plan = queries(rng, words)[: args.queries]
        for q, filters in plan[:3]:  # warm the page cache
            await service.search_messages(db, actor, q, service.make_filters(**filters))
        results: dict[str, list[float]] = {"messages": [], "sessions": []}
        hits: list[str] = []
        for q, filters in plan:
            f = service.make_filters(**filters)
            t0 = time.perf_counter()
            found = await service.search_messages(db, actor, q, f)
            results["messages"].append((time.perf_counter() - t0) * 1000)
            hits.append(f"{found.total:,}" + ("" if found.total_exact else "+"))
            t0 = time.perf_counter()
            await service.search_chats(db, actor, q, f)
            results["sessions"].append((time.perf_counter() - t0) * 1000)
    await engine.dispose()
    if args.per_query:
        print(f"  {'messages':>9} {'sessions':>9} {'total':>8}  query")
        for i, (q, filters) in enumerate(plan):
            m, s = results["messages"][i], results["sessions"][i]
            print(f"  {m:7.1f}ms {s:7.1f}ms {hits[i]:>8}  {q!r} {filters or ''}")
    print(f"{len(plan)} queries (totals with '+' are floors: counting through filters stops at a cap)")
    for name, times in results.items():
        times.sort()
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        label = (
            "messages (ranked hits + snippets + total)"
            if name == "messages"
            else "sessions (grouped per chat)"
        )
        print(f"  {label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {times[-1]:7.1f} ms")
    print("Load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    asyncio.run(main())
