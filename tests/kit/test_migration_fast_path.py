"""`migrate` answers after one query when the schema is current: the heads it reads from the
scripts are Alembic's own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.script import ScriptDirectory

from chasm.kit.db import _alembic_config, create_engine, migrate, migration_heads, schema_is_current


def test_heads_read_from_the_scripts_are_alembics() -> None:
    assert migration_heads() == set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def test_schema_is_current_only_after_migrating(tmp_path: Path) -> None:
    async def check() -> tuple[bool, bool]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            before = await schema_is_current(engine)
            await migrate(engine)
            return before, await schema_is_current(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == (False, True)
