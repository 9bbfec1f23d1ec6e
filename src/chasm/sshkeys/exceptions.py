"""Errors of SSH keys."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, NotFound


class InvalidSshKey(BadRequest):
    code = "invalid_ssh_key"


class DuplicateSshKey(Conflict):
    code = "ssh_key_exists"


class SshKeyNotFound(NotFound):
    code = "ssh_key_not_found"
