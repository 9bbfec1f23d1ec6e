"""Secret fields of a job's input (a command's `env`, a browser session's `network` with its proxy
password) sealed at rest: the stored input shows `[sealed]` in their place and keeps their values
encrypted with the server secret under one key that only the worker opens."""

from __future__ import annotations

import json
from typing import Any

from chasm.kit.crypto import Box

SEALED_KEY = "_sealed"
MARK = "[sealed]"


def seal_input(secret_key: str | None, fields: tuple[str, ...], data: dict[str, Any]) -> dict[str, Any]:
    present = {name: data[name] for name in fields if data.get(name) not in (None, {}, [])}
    if not present:
        return data
    if secret_key is None:
        raise ValueError("a job input with secret fields needs the server secret to be stored")
    return {**data, **dict.fromkeys(present, MARK), SEALED_KEY: Box(secret_key).encrypt(json.dumps(present))}


def unseal_input(secret_key: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The input as it was given. Raises ValueError when another server secret sealed it."""
    data = {name: value for name, value in stored.items() if name != SEALED_KEY}
    token = stored.get(SEALED_KEY)
    if isinstance(token, str):
        data.update(json.loads(Box(secret_key).decrypt(token)))
    return data


def shown_input(stored: dict[str, Any]) -> dict[str, Any]:
    """The input as the API shows it: secret fields as `[sealed]`, no ciphertext."""
    return {name: value for name, value in stored.items() if name != SEALED_KEY}
