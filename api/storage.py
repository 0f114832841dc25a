"""Where photo bytes live: a three-method interface and its local-disk implementation.

Photos are content-addressed (`photo_key`): a key names exactly one content, so writing an
existing key is a no-op and nothing is ever overwritten or deleted here. An S3-compatible store
implements the same three methods (`put` as PutObject with `Content-Type`, `get` as GetObject
raising `KeyError` on NoSuchKey, `exists` as HeadObject) and can replace `LocalPhotoStore`
without touching its callers.
"""

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Final, Protocol

from anyio import to_thread

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_EXTENSION: Final = re.compile(r"[a-z0-9]{1,8}")
# No leading dot: rules out "." and "..", and keeps keys apart from our hidden temp files.
_KEY_SEGMENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class PhotoStore(Protocol):
    async def put(self, key: str, content: bytes, content_type: str) -> None:
        """Store `content` under `key`; a no-op when the key already exists."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; raises `KeyError` when there are none."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether `key` holds a photo."""
        ...


def photo_key(sha256: str, extension: str) -> str:
    """`ab/cd/abcd…(64 hex).jpg`: two directory levels keep any one directory small."""
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    if not _EXTENSION.fullmatch(extension):
        raise ValueError(f"not a file extension: {extension!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


class LocalPhotoStore:
    """Photos as files under `root`. File I/O runs in worker threads, off the event loop."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).resolve()

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        # `content_type` is not stored: on disk the key's extension already says it.
        await to_thread.run_sync(self._put, key, content)

    async def get(self, key: str) -> bytes:
        return await to_thread.run_sync(self._get, key)

    async def exists(self, key: str) -> bool:
        return await to_thread.run_sync(self._exists, key)

    def _put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.is_file():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, content)

    def _get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        segments = key.split("/")
        if not all(_KEY_SEGMENT.fullmatch(segment) for segment in segments):
            raise ValueError(f"invalid photo key: {key!r}")
        path = self._root.joinpath(*segments)
        # A symlink inside the root must not lead reads or writes outside it.
        if not path.resolve().is_relative_to(self._root):
            raise ValueError(f"photo key leaves the store: {key!r}")
        return path


def _write_atomically(path: Path, content: bytes) -> None:
    """Readers see the whole file or none of it, never a partial write."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            # Flush to disk before the rename: `put` never rewrites an existing key, so a file
            # left empty by a crash would stay broken for good.
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
