"""The remote library, through fsspec: a folder, S3 (s3fs), WebDAV (webdav4), Azure (adlfs) or
GCS (gcsfs), whichever the location's URL names and is installed. Blocking calls: the service runs
them in a worker thread. Every failure of the backend becomes SyncBackendUnreachable here.

Layout under the location: `manifest.json` (format, whether encrypted, salt, key check) and
`chats/<sync_id>/<tag>` (one chat version) or `chats/<sync_id>/deleted` (its tombstone)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import fsspec

from chasm.sync.exceptions import SyncBackendUnreachable, SyncCorrupt

T = TypeVar("T")
FORMAT = 1


class Remote:
    def __init__(self, location: str, options: dict[str, Any]) -> None:
        # A fresh instance, listings never cached: another installation writes here between syncs.
        options = {"skip_instance_cache": True, **options}
        if isinstance(options.get("auth"), list):  # webdav4 takes (user, password)
            options["auth"] = tuple(options["auth"])
        self.location = location
        try:
            self.fs, self.root = fsspec.core.url_to_fs(location, **options)
        except (ImportError, ValueError) as exc:
            raise SyncBackendUnreachable(f"cannot open {location}: {exc}") from exc
        self.root = self.root.rstrip("/")

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except FileNotFoundError:
            raise
        except Exception as exc:  # network, auth, the backend's own errors: all mean "not now"
            raise SyncBackendUnreachable(f"sync backend failed ({what}): {exc}") from exc

    def close(self) -> None:
        """Close the backend's connections now, not when the collector finds them: webdav4 holds an
        httpx client; s3fs closes its own session in a finalizer; a folder holds nothing."""
        http = getattr(getattr(self.fs, "client", None), "http", None)
        if http is not None and callable(getattr(http, "close", None)):
            http.close()

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            raw = self._call("read manifest", lambda: self.fs.cat_file(self.path("manifest.json")))
        except FileNotFoundError:
            return None
        try:
            manifest: dict[str, Any] = json.loads(raw)
        except ValueError as exc:
            raise SyncCorrupt("the remote manifest.json is not JSON") from exc
        if manifest.get("format") != FORMAT:
            raise SyncCorrupt(f"the remote library has format {manifest.get('format')!r}, not {FORMAT}")
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        data = json.dumps({"format": FORMAT, **manifest}).encode()
        self._call("write manifest", lambda: self._mkdirs_and_pipe({self.path("manifest.json"): data}))

    def list_chats(self) -> dict[str, list[str]]:
        """sync_id -> the tags stored for it."""

        def find() -> list[str]:
            try:
                return list(self.fs.find(self.path("chats")))
            except FileNotFoundError:
                return []

        self.fs.invalidate_cache()
        found: dict[str, list[str]] = {}
        prefix = self.path("chats").split("://", 1)[-1].lstrip("/")
        for full in self._call("list", find):
            rest = full.split("://", 1)[-1].lstrip("/")[len(prefix) :].strip("/")
            parts = rest.split("/")
            if len(parts) == 2:
                found.setdefault(parts[0], []).append(parts[1])
        return found

    def get(self, names: list[str]) -> dict[str, bytes]:
        if not names:
            return {}
        paths = [self.path(n) for n in names]
        got = self._call("download", lambda: self.fs.cat(paths, on_error="raise"))
        if not isinstance(got, dict):
            got = {paths[0]: got}
        by_path = {k.split("://", 1)[-1].lstrip("/"): v for k, v in got.items()}
        return {n: by_path[p.split("://", 1)[-1].lstrip("/")] for n, p in zip(names, paths, strict=True)}

    def put(self, objects: dict[str, bytes]) -> None:
        if objects:
            self._call("upload", lambda: self._mkdirs_and_pipe({self.path(k): v for k, v in objects.items()}))

    def remove(self, names: list[str]) -> None:
        if names:
            self._call("remove", lambda: self.fs.rm([self.path(n) for n in names]))

    def _mkdirs_and_pipe(self, objects: dict[str, bytes]) -> None:
        if not getattr(self.fs, "async_impl", False) or self.fs.protocol in ("file", "local"):
            for parent in {p.rsplit("/", 1)[0] for p in objects}:
                self.fs.makedirs(parent, exist_ok=True)
        self.fs.pipe(objects)
