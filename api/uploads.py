"""A form's file, read from the request stream into memory once its sender is known.

FastAPI parses a `File()` parameter before any dependency runs, spooling it to a temporary
file: anyone could have the service write gigabytes to disk before being told they are not
signed in. Upload routes instead read their body here, after authentication, into memory
bounded by the route's cap; nothing of an upload ever reaches the disk but the stored photo.
"""

from io import BytesIO
from typing import Any, Final

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from api.errors import AppError, UploadMalformed, ValidationFailed

# The mini-program sends one file; a form of more parts than this is no upload of ours.
MAX_PARTS: Final = 16


def upload_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its file with `read_file`."""
    schema = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": description,
            }
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


async def read_file(request: Request, *, max_bytes: int, too_large: AppError) -> bytes:
    """The content of the form's first file part named `file`, at most `max_bytes` long.

    Other parts are read past and dropped. Raises `too_large`, `UploadMalformed`, or
    `ValidationFailed` when the form has no such file.
    """
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise _no_file()
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadMalformed(detail={"reason": "no boundary"})
    form = _FilePart(max_bytes, too_large)
    try:
        parser = MultipartParser(boundary, form.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise UploadMalformed() from exc
    except ClientDisconnect as exc:
        # Nobody is left to answer; said so, rather than logged as a fault of ours.
        raise UploadMalformed(detail={"reason": "client left mid-upload"}) from exc
    if form.found is None:
        raise _no_file()
    return form.found


def _no_file() -> ValidationFailed:
    problem = {"field": "file", "label": "文件", "type": "missing", "reason": "缺少上传的文件"}
    return ValidationFailed(problems=problem["reason"], detail=[problem])


class _FilePart:
    """Callbacks of the streaming parser that keep the first `file` part's bytes."""

    def __init__(self, max_bytes: int, too_large: AppError) -> None:
        self.max_bytes = max_bytes
        self.too_large = too_large
        self.found: bytes | None = None
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._keeping: BytesIO | None = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_field_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadMalformed(detail={"reason": "too many parts", "max_parts": MAX_PARTS})
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_field_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        wanted = options.get(b"name") == b"file" and b"filename" in options
        self._keeping = BytesIO() if wanted and self.found is None else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._keeping is None:
            return
        if self._keeping.tell() + end - start > self.max_bytes:
            raise self.too_large
        self._keeping.write(memoryview(data)[start:end])

    def _end(self) -> None:
        if self._keeping is not None:
            # Hands over the buffer without copying it.
            self.found = self._keeping.getvalue()
            self._keeping = None
