"""A streaming reader of `multipart/form-data` uploads with fields `path` and `file` that stops
(413) as soon as the file passes its limit, so no more than the limit is ever held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from chasm.files.exceptions import FileTooLarge, InvalidUpload

FIELD_LIMIT = 8192


@dataclass
class Upload:
    fields: dict[str, bytearray] = field(default_factory=dict)
    filename: str | None = None

    @property
    def path(self) -> str | None:
        value = self.fields.get("path")
        return value.decode("utf-8", "replace") if value is not None else None

    @property
    def data(self) -> bytes | None:
        value = self.fields.get("file")
        return bytes(value) if value is not None else None


class _Part:
    """Callbacks of the streaming parser: one part at a time, only `path` and `file` kept."""

    def __init__(self, upload: Upload, file_limit: int) -> None:
        self.upload = upload
        self.file_limit = file_limit
        self.field = b""
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.buffer: bytearray | None = None

    def begin(self) -> None:
        self.headers, self.name, self.buffer = {}, None, None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        key = self.field.lower()
        self.headers[key] = self.headers.get(key, b"") + data[start:end]

    def header_end(self) -> None:
        self.field = b""

    def headers_finished(self) -> None:
        _, disposition = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name in ("path", "file"):
            self.name = name
            self.buffer = self.upload.fields.setdefault(name, bytearray())
            if name == "file" and b"filename" in disposition:
                self.upload.filename = disposition[b"filename"].decode("utf-8", "replace")

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.buffer is None:
            return
        self.buffer.extend(data[start:end])
        if len(self.buffer) > (self.file_limit if self.name == "file" else FIELD_LIMIT):
            raise FileTooLarge(f"file exceeds the upload limit of {self.file_limit} bytes")


async def read_upload(content_type: str, body: AsyncIterator[bytes], file_limit: int) -> Upload:
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidUpload("upload must be multipart/form-data with fields 'path' and 'file'")
    upload = Upload()
    part = _Part(upload, file_limit)
    callbacks = {
        "on_part_begin": part.begin,
        "on_header_field": part.header_field,
        "on_header_value": part.header_value,
        "on_header_end": part.header_end,
        "on_headers_finished": part.headers_finished,
        "on_part_data": part.data,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidUpload(f"malformed multipart body: {exc}") from None
    if upload.path is None or upload.data is None:
        raise InvalidUpload("upload needs the fields 'path' and 'file'")
    return upload
