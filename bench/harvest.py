"""Harvest benchmark: cold harvest, unchanged re-harvest, 10k-file re-harvest and 1% appended lines.

    uv run python -m bench.harvest              # about 1 GB / 1M messages
    uv run python -m bench.harvest --small      # a quick run (32 MB)
    uv run python -m bench.harvest --size-mb 256

The corpus replicates the Claude Code and Codex fixtures with fresh ids (every UUID and message
id is replaced, per copy), laid out where the sources look under a private home folder. The
database is left in place (its path is printed) for the search benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chasm.app import create_app
from chasm.auth import repository as auth_repo
from chasm.auth.actor import Actor
from chasm.auth.deps import account_for_user
from chasm.config import Settings
from chasm.harvest import service
from chasm.harvest.engine import HarvestReport

FIXTURES = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures")) / "transcripts"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKEN_ID = re.compile(r"\b(msg|toolu|req|call|resp|rs|fc)_[A-Za-z0-9]{8,}")
TEMPLATES = {
    "claude-code": [
        "claude-code/gitai_example-claude-code.jsonl",
        "claude-code/agentsessions_stage0_claude_small.jsonl",
        "claude-code/agtrace_claude_session.jsonl",
        "claude-code/gitai_claude-code-with-thinking.jsonl",
    ],
    "codex": ["codex/agentsessions_stage0_codex_small_cli0.146.jsonl", "codex/agtrace_codex_session.jsonl"],
}


class Replicator:
    """Copies of a fixture log with fresh ids; `block()` is one more copy of its records."""

    def __init__(self, text: str) -> None:
        self.text = text if text.endswith("\n") else text + "\n"
        self.session_ids = set(UUID.findall(self.text.split("\n", 1)[0]))

    def block(self, session_map: dict[str, str]) -> str:
        fresh: dict[str, str] = dict(session_map)

        def uuid_sub(m: re.Match[str]) -> str:
            return fresh.setdefault(m.group(0), str(uuid.uuid4()))

        def token_sub(m: re.Match[str]) -> str:
            return fresh.setdefault(m.group(0), f"{m.group(1)}_{uuid.uuid4().hex[:24]}")

        return TOKEN_ID.sub(token_sub, UUID.sub(uuid_sub, self.text))


def _target(home: Path, provider: str, index: int, session: str) -> Path:
    if provider == "claude-code":
        return home / ".claude" / "projects" / f"-work-project-{index % 200}" / f"{session}.jsonl"
    day = 1 + index % 28
    return (
        home
        / ".codex"
        / "sessions"
        / "2026"
        / "03"
        / f"{day:02d}"
        / f"rollout-2026-03-{day:02d}T10-00-00-{session}.jsonl"
    )


def build_corpus(
    home: Path, size_bytes: int, file_bytes: int, seed: int = 7, exact: bool = False
) -> list[tuple[Path, Replicator, dict[str, str]]]:
    """Files of about `file_bytes` each until `size_bytes` are written; returns what `append` needs.

    A file holds whole copies of a fixture until it reaches `file_bytes`: with fixtures of 10 to
    145 KB, files below 100 KB come out larger than asked (at 48 KB, 95 KB on average). With
    `exact`, a file ends at the last whole line within `file_bytes` instead (a log cut short)."""
    rng = random.Random(seed)
    templates = [
        (provider, Replicator((FIXTURES / rel).read_text()))
        for provider, rels in TEMPLATES.items()
        for rel in rels
    ]
    written = 0
    files: list[tuple[Path, Replicator, dict[str, str]]] = []
    index = 0
    while written < size_bytes:
        provider, rep = templates[rng.randrange(len(templates))] if index else templates[0]
        session = str(uuid.uuid4())
        session_map = {sid: session for sid in rep.session_ids}
        path = _target(home, provider, index, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = []
        size = 0
        while size < file_bytes:
            block = rep.block(session_map)
            parts.append(block)
            size += len(block)
        data = "".join(parts)
        if exact and len(data.encode()) > file_bytes:
            cut = data.encode()[:file_bytes].rfind(b"\n") + 1
            data = data.encode()[: cut or data.index("\n") + 1].decode()
        path.write_text(data)
        written += len(data.encode())
        files.append((path, rep, session_map))
        index += 1
    return files


async def _actor(maker) -> Actor:  # type: ignore[no-untyped-def]
    async with maker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account, role = await account_for_user(db, owner.id, None)
        return Actor("user", owner.id, account, role, None, via="cli")


async def _timed(label: str, run: Callable[[], object]) -> tuple[float, HarvestReport]:
    started = time.perf_counter()
    report = await run()  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    assert isinstance(report, HarvestReport)
    counts = report.providers
    parsed = sum(c.units_parsed for c in counts.values())
    skipped = sum(c.units_skipped for c in counts.values())
    print(
        f"{label:<32} {elapsed:8.2f} s   units parsed {parsed:,}, skipped {skipped:,}, "
        f"chats {report.chats_stored:,}, messages +{report.messages_added:,}, issues {len(report.issues):,}"
    )
    return elapsed, report


async def harvest_tree(
    root: Path, home: Path, workers: int, database_url: str | None
) -> tuple[Settings, object, Actor]:
    settings = Settings(
        data_dir=root / "data",
        harvest_home=home,
        harvest_workers=workers,
        secret_key="bench-secret",
        database_url=database_url,
    )
    app = create_app(settings)
    with contextlib.redirect_stdout(io.StringIO()):
        async with app.router.lifespan_context(app):
            pass
    from chasm.kit.db import create_engine, make_sessionmaker

    engine = create_engine(settings.effective_database_url, settings.database_schema)
    maker = make_sessionmaker(engine)
    return settings, maker, await _actor(maker)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "chasm-bench" / "harvest",
        help="corpus and database",
    )
    parser.add_argument("--size-mb", type=int, default=1024, help="corpus size (default 1024 MB)")
    parser.add_argument("--small", action="store_true", help="a quick run: 32 MB")
    parser.add_argument("--file-kb", type=int, default=100, help="size of each log file")
    parser.add_argument("--exact", action="store_true", help="cut each file at --file-kb (whole lines)")
    parser.add_argument(
        "--workers", type=int, default=0, help="parser processes (0: as the CLI, one per CPU, at most 4)"
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in --dir/data")
    parser.add_argument("--skip-10k", action="store_true", help="skip the 10k-file re-harvest")
    args = parser.parse_args()
    size_mb = 32 if args.small else args.size_mb

    if args.dir.exists():
        shutil.rmtree(args.dir)
    home = args.dir / "home"
    started = time.perf_counter()
    files = build_corpus(home, size_mb * 1024 * 1024, args.file_kb * 1024, exact=args.exact)
    total = sum(p.stat().st_size for p, _, _ in files)
    print(
        f"corpus: {len(files):,} files, {total / 1e6:,.1f} MB, built in {time.perf_counter() - started:.1f} s"
    )

    settings, maker, actor = await harvest_tree(args.dir, home, args.workers, args.database_url)
    providers = list(TEMPLATES)

    def run() -> object:
        return service.harvest(maker, settings, actor.account_id, providers=providers)  # type: ignore[arg-type]

    cold, report = await _timed("cold harvest", run)
    print(f"  -> {total / 1e6 / cold:,.1f} MB/s, {report.messages_added / cold:,.0f} messages/s")
    await _timed("re-harvest, unchanged", run)

    rng = random.Random(11)
    chosen = rng.sample(files, max(1, len(files) // 100))
    appended = 0
    for path, rep, session_map in chosen:
        block = rep.block(session_map)
        with path.open("a") as fh:
            fh.write(block)
        appended += len(block)
    elapsed, report = await _timed(f"1% appended ({len(chosen)} files)", run)
    print(f"  -> {appended / 1e6:,.1f} MB appended, {report.messages_added:,} messages added")
    print(f"database: {settings.effective_database_url}")

    if not args.skip_10k:
        small_root = args.dir / "tenk"
        small_home = small_root / "home"
        tiny = Replicator((FIXTURES / "claude-code/agtrace_claude_agent.jsonl").read_text())
        for i in range(10_000):
            session = str(uuid.uuid4())
            path = _target(small_home, "claude-code", i, session)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(tiny.block({sid: session for sid in tiny.session_ids}))
        settings10k, maker10k, actor10k = await harvest_tree(small_root, small_home, args.workers, None)

        def run10k() -> object:
            return service.harvest(maker10k, settings10k, actor10k.account_id, providers=["claude-code"])  # type: ignore[arg-type]

        await _timed("10k files, cold", run10k)
        await _timed("10k files, unchanged re-harvest", run10k)


if __name__ == "__main__":
    asyncio.run(main())
