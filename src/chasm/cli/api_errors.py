"""How the remote commands (`chasm sandbox`, `chasm workspace`) report a refusal of the server:
in the command line's own words. The API names its body fields (`force=true`); a CLI user knows
the flag (`--force`)."""

from __future__ import annotations

import re
from typing import NoReturn

import typer

from chasm.client.errors import ChasmAPIError

# API wording -> the flag a CLI user types instead.
FLAG_WORDS = (
    (re.compile(r"\bpass force=true\b"), "pass --force"),
    (re.compile(r"\bforce=true\b"), "--force"),
    (re.compile(r"\bnetwork\.mode\b"), "--network"),
    (re.compile(r"\btimeout_ms\b"), "--timeout-ms"),
    (re.compile(r"\bclone_from\b"), "--clone-from"),
)


def cli_words(message: str) -> str:
    for pattern, flag in FLAG_WORDS:
        message = pattern.sub(flag, message)
    return message


def fail(error: ChasmAPIError) -> NoReturn:
    typer.echo(f"error: {cli_words(error.message)} ({error.status_code} {error.code})", err=True)
    raise typer.Exit(1) from error
