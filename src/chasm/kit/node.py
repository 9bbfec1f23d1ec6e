"""This server's node identity: the host name and an id kept in its data dir.

Servers sharing one database each have their own data dir (sandboxes and workspace disks live
there), hence their own node id, recorded on every sandbox session they start.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

NODE_FILE = "node.id"


def node_id(data_dir: Path) -> str:
    """`<hostname>/<12 hex digits>`; the id is made on first use and kept in `data_dir/node.id`."""
    path = data_dir / NODE_FILE
    try:
        suffix = path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        suffix = secrets.token_hex(6)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this server made it first
            suffix = path.read_text().strip()
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(suffix)
    return f"{socket.gethostname()}/{suffix}"
