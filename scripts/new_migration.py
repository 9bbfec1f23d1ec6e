"""Autogenerate a migration: `uv run python scripts/new_migration.py REV_ID "message" [DOWN_REV]`.

Upgrades a scratch SQLite database to every current head, then diffs it against the models.
Review the output: it contains every model change not yet migrated, including other domains'.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from chasm.kit.db import _alembic_config


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    head = sys.argv[3] if len(sys.argv) > 3 else "head"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _alembic_config()
        cfg.set_main_option("sqlalchemy.url", f"sqlite:///{Path(tmp) / 'scratch.db'}")
        command.upgrade(cfg, "heads")
        command.revision(
            cfg, message=message, autogenerate=True, rev_id=rev_id, head=head, splice=head != "head"
        )
    subprocess.run(["ruff", "check", "--fix", "-q", "src/chasm/migrations/versions"], check=False)
    subprocess.run(["ruff", "format", "-q", "src/chasm/migrations/versions"], check=False)


if __name__ == "__main__":
    main()
