"""Sync of a chat library to a local S3 server (moto in server mode on 127.0.0.1).

    uv run python -m bench.sync [--chats 1000] [--messages 6]

Builds a library of --chats chats (10,000 is the goal's size) with --messages messages each in a
fresh SQLite database, then times: the first sync (everything uploaded), a second sync with
nothing changed (listing and comparison only), and a sync of a second installation pulling the
whole library. Yardstick in the same run: uploading the same number of objects of the same sizes
with s3fs alone (the transport's floor). Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from chasm.auth import repository as auth_repo
from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.kit.db import create_engine, make_sessionmaker, migrate, transaction
from chasm.models import Chat, ChatMessage, ChatSettings
from chasm.sync import service
from chasm.system.bootstrap import bootstrap_owner

TEXT = "We looked at the failing migration and found the index was created twice. " * 4


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _installation(
    root: Path, location: str, options: dict[str, Any]
) -> tuple[Any, Actor, Settings, Any]:
    settings = Settings(
        data_dir=root,
        database_url=f"sqlite+aiosqlite:///{root / 'chasm.db'}",
        secret_key="bench-" + uuid.uuid4().hex,
        sync_locations={"s3": location},
        sync_storage_options={"s3": options},
    )
    root.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    await migrate(engine)
    maker = make_sessionmaker(engine)
    await bootstrap_owner(maker, settings.secret_key or "")
    async with maker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
    async with transaction(maker) as db:
        db.add(ChatSettings(account_id=account.id, data={"sync_enabled": True, "sync_provider": "s3"}))
    actor = Actor("user", owner.id, account, "owner", None, via="cli", instance_admin=True)
    return maker, actor, settings, engine


async def _fill(maker: Any, account_id: uuid.UUID, chats: int, messages: int) -> None:
    for start in range(0, chats, 500):
        async with transaction(maker) as db:
            for n in range(start, min(chats, start + 500)):
                chat = Chat(
                    account_id=account_id, provider="claude_code", source_id=f"bench-{n}", title=f"Chat {n}"
                )
                db.add(chat)
                await db.flush()
                for seq in range(messages):
                    content = f"{n}:{seq} {TEXT}"
                    db.add(
                        ChatMessage(
                            chat_id=chat.id,
                            seq=seq,
                            role="user" if seq % 2 == 0 else "assistant",
                            content=content,
                            content_hash=hashlib.sha256(content.encode()).hexdigest(),
                        )
                    )
                chat.message_count = messages


async def main(chats: int, messages: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    import s3fs
    from moto.server import ThreadedMotoServer

    port = _port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "key": "bench",
        "secret": "bench",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    fs.mkdir("bench-sync")
    fs.mkdir("bench-yardstick")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            maker, actor, settings, engine = await _installation(
                Path(tmp) / "a", "s3://bench-sync/lib", options
            )
            await _fill(maker, actor.account_id, chats, messages)
            started = time.perf_counter()
            first = await service.sync(maker, settings, actor)
            push = time.perf_counter() - started
            rate = first.uploaded / push
            print(f"first sync: {first.uploaded} chats uploaded in {push:.1f} s ({rate:.0f} chats/s)")
            started = time.perf_counter()
            await service.sync(maker, settings, actor)
            print(f"second sync, nothing changed: {time.perf_counter() - started:.2f} s")
            await engine.dispose()

            sizes = [len(b) for b in fs.cat(fs.find("bench-sync/lib/chats")).values()]
            started = time.perf_counter()
            batch = 200
            for i in range(0, len(sizes), batch):
                fs.pipe(
                    {f"bench-yardstick/o{i + j}": b"x" * size for j, size in enumerate(sizes[i : i + batch])}
                )
            raw = time.perf_counter() - started
            ratio = push / raw
            print(
                f"  yardstick, s3fs alone, same objects: {raw:.1f} s; sync costs {ratio:.1f}x the transport"
            )

            maker_b, actor_b, settings_b, engine_b = await _installation(
                Path(tmp) / "b", "s3://bench-sync/lib", options
            )
            started = time.perf_counter()
            pulled = await service.sync(maker_b, settings_b, actor_b)
            pull = time.perf_counter() - started
            print(f"second installation: {pulled.downloaded} chats downloaded in {pull:.1f} s")
            await engine_b.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=1000, help="library size (the goal: 10000)")
    parser.add_argument("--messages", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.messages))
