"""The log of a background command: frames `[kind u8][length u32 LE][data]` appended to one file.

Written by the sandbox agent (agent.c) for the commands it runs, or by the server's own pump when
commands go through nsenter. Kinds: `o` stdout and `e` stderr (each ending on a UTF-8 character
boundary), `t` once when the log reached its cap (what followed was dropped), and last `x`: the
command's wait status in decimal. A frame is appended with one write, so a reader that finds a
partial frame at the end only has to look again later.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

HEAD = struct.Struct("<BI")
STREAMS = {ord("o"): "stdout", ord("e"): "stderr"}
KINDS = {"stdout": "o", "stderr": "e"}
TRUNCATED = ord("t")
EXIT = ord("x")


def utf8_cut(data: bytes) -> int:
    """Length of the longest prefix of data that does not end inside a UTF-8 sequence."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # continuation byte: keep looking for the lead byte
            continue
        if byte & 0x80 == 0:
            return len(data)
        need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
        return len(data) if back >= need else len(data) - back
    return len(data)


def frame(kind: str, data: bytes = b"") -> bytes:
    return HEAD.pack(ord(kind), len(data)) + data


def frames(buffer: bytes, base: int) -> Iterator[tuple[int, int, int]]:
    """(kind, file offset of the data, length) of each whole frame in `buffer`, which starts at
    file offset `base`."""
    at = 0
    while at + HEAD.size <= len(buffer):
        kind, length = HEAD.unpack_from(buffer, at)
        if at + HEAD.size + length > len(buffer):
            return
        yield kind, base + at + HEAD.size, length
        at += HEAD.size + length


class Writer:
    """The server-side writer (commands run through nsenter): the same frames, cap and cuts."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.written = 0
        self.truncated = False
        self._pending: dict[str, bytes] = {}

    def _write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _data(self, stream: str, data: bytes) -> None:
        if not data or self.truncated:
            return
        room = self.cap - self.written
        if len(data) > room:
            data = data[: utf8_cut(data[:room])]
            if data:
                self._write(frame(KINDS[stream], data))
            self.written += len(data)
            self._write(frame("t"))
            self.truncated = True
            return
        self._write(frame(KINDS[stream], data))
        self.written += len(data)

    def output(self, stream: str, data: bytes) -> None:
        data = self._pending.pop(stream, b"") + data
        cut = utf8_cut(data)
        if cut < len(data):
            self._pending[stream] = data[cut:]
        self._data(stream, data[:cut])

    def exit(self, code: int) -> None:
        for stream, rest in self._pending.items():
            self._data(stream, rest)
        self._pending.clear()
        status = code << 8 if code >= 0 else -code
        self._write(frame("x", str(status).encode()))
