"""Where photo bytes live: a three-method interface, a local directory and an S3 bucket.

Photos are content-addressed (`photo_key`): a key names exactly one content, so writing an
existing key is a no-op and nothing is ever overwritten or deleted here. `PHOTO_STORE` chooses
the implementation (`open_photo_store`): a directory (the embedded default) or a bucket of any
S3-compatible store (Tencent COS, Aliyun OSS, MinIO), which several API processes can share.
"""

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from anyio import to_thread
from botocore.exceptions import BotoCoreError, ClientError

from api.config import Settings
from api.errors import PhotoStoreUnavailable

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client

log = logging.getLogger(__name__)

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_EXTENSION: Final = re.compile(r"[a-z0-9]{1,8}")
# No leading dot: rules out "." and "..", and keeps keys apart from our hidden temp files.
_KEY_SEGMENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class PhotoStore(Protocol):
    """Raises `ValueError` for a malformed key; a store that cannot be reached raises
    `PhotoStoreUnavailable`."""

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
        path = self._root.joinpath(*_segments(key))
        # A symlink inside the root must not lead reads or writes outside it.
        if not path.resolve().is_relative_to(self._root):
            raise ValueError(f"photo key leaves the store: {key!r}")
        return path


def _segments(key: str) -> list[str]:
    segments = key.split("/")
    if not all(_KEY_SEGMENT.fullmatch(segment) for segment in segments):
        raise ValueError(f"invalid photo key: {key!r}")
    return segments


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


# What S3-compatible stores answer for a key that holds nothing (GetObject, HeadObject).
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})


class S3PhotoStore:
    """Photos as objects of a bucket, under an optional key prefix, through aiobotocore: every
    call is a non-blocking request on the event loop.

    `put` checks with HeadObject before PutObject: two processes racing on one new key both
    write it, with the same bytes (the key is their hash), so the check only saves the upload.
    """

    def __init__(
        self,
        client: "S3Client",
        bucket: str,
        *,
        prefix: str = "",
        presigner: "S3Client | None" = None,
    ) -> None:
        self._client = client
        self._presigner = presigner or client
        self._bucket = bucket
        self._prefix = f"{prefix}/" if prefix else ""

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        if await self.exists(key):
            return
        with _unavailable_on_failure():
            await self._client.put_object(
                Bucket=self._bucket, Key=self._object(key), Body=content, ContentType=content_type
            )

    async def get(self, key: str) -> bytes:
        with _unavailable_on_failure():
            try:
                answer = await self._client.get_object(Bucket=self._bucket, Key=self._object(key))
            except ClientError as error:
                if _code(error) in _MISSING:
                    raise KeyError(key) from None
                raise
            async with answer["Body"] as body:
                return await body.read()

    async def exists(self, key: str) -> bool:
        with _unavailable_on_failure():
            try:
                await self._client.head_object(Bucket=self._bucket, Key=self._object(key))
            except ClientError as error:
                if _code(error) in _MISSING:
                    return False
                raise
        return True

    async def presigned_url(self, key: str, *, content_type: str, ttl: timedelta) -> str:
        """A GetObject URL that loads the photo without credentials until `ttl` has passed;
        signing is local, no request is made."""
        seconds = int(ttl.total_seconds())
        return await self._presigner.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": self._object(key),
                "ResponseContentType": content_type,
                "ResponseCacheControl": f"private, max-age={seconds}",
            },
            ExpiresIn=seconds,
        )

    def _object(self, key: str) -> str:
        return self._prefix + "/".join(_segments(key))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """The store refused or could not be reached (after the SDK's retries), or a body broke off
    while it was read: for the member, a 503 to retry; for the operator, the store's words."""
    try:
        yield
    except (BotoCoreError, ClientError, aiohttp.ClientError, TimeoutError) as error:
        log.warning("photo store failed: %s", error)
        raise PhotoStoreUnavailable() from error


@contextlib.asynccontextmanager
async def open_photo_store(settings: Settings) -> AsyncIterator[PhotoStore]:
    """The store `PHOTO_STORE` names, open for as long as the context lasts."""
    if settings.photo_store == "local":
        yield LocalPhotoStore(settings.photo_dir)
        return
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(_s3_client(settings, settings.s3_endpoint_url))
        presigner = None
        if settings.s3_public_endpoint_url:
            presigner = await stack.enter_async_context(
                _s3_client(settings, settings.s3_public_endpoint_url)
            )
        yield S3PhotoStore(
            client, settings.s3_bucket, prefix=settings.s3_key_prefix, presigner=presigner
        )


def _s3_client(settings: Settings, endpoint: str) -> "ClientCreatorContext[S3Client]":
    config = AioConfig(
        region_name=settings.s3_region,
        signature_version="s3v4",
        s3={"addressing_style": settings.s3_addressing_style},
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"mode": "standard", "max_attempts": 3},
        # Some S3-compatible stores refuse the checksums the SDK adds to every request since
        # botocore 1.36: compute them only where an operation requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return get_session().create_client(
        "s3",
        endpoint_url=endpoint or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
        config=config,
    )
