"""Photos on an S3-compatible store.

The store is moto's S3 server, started in this process on a free port: a real HTTP server that
speaks the S3 API, as Tencent COS, Aliyun OSS and MinIO do.
"""

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from io import BytesIO

import httpx
import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer
from PIL import Image
from types_aiobotocore_s3 import S3Client

from api.config import Settings
from api.storage import S3PhotoStore, photo_key
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat

KEYS = {"s3_access_key_id": "test-key", "s3_secret_access_key": "test-secret"}
SHA = hashlib.sha256(b"photo").hexdigest()
KEY = photo_key(SHA, "jpg")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def s3(s3_endpoint: str) -> AsyncIterator[S3Client]:
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["s3_access_key_id"],
        aws_secret_access_key=KEYS["s3_secret_access_key"],
    ) as client:
        yield client


@pytest.fixture
async def bucket(s3: S3Client) -> str:
    name = f"photos-{uuid.uuid4().hex[:12]}"
    await s3.create_bucket(Bucket=name)
    return name


def s3_settings(database_url: str, endpoint: str, bucket: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "photo_store": "s3",
        "s3_endpoint_url": endpoint,
        "s3_bucket": bucket,
        "s3_addressing_style": "path",
        "s3_key_prefix": "pioneer/photos",
        **KEYS,
    }
    return make_settings(database_url, **(values | overrides))


async def objects(s3: S3Client, bucket: str) -> dict[str, bytes]:
    listing = await s3.list_objects_v2(Bucket=bucket)
    found = {}
    for item in listing.get("Contents", []):
        answer = await s3.get_object(Bucket=bucket, Key=item["Key"])
        async with answer["Body"] as body:
            found[item["Key"]] = await body.read()
    return found


# --- the store ---------------------------------------------------------------------------------


async def test_put_then_get_and_exists_on_the_bucket(s3: S3Client, bucket: str) -> None:
    store = S3PhotoStore(s3, bucket, prefix="pioneer/photos")
    assert not await store.exists(KEY)

    await store.put(KEY, b"photo", "image/jpeg")

    assert await store.exists(KEY)
    assert await store.get(KEY) == b"photo"
    head = await s3.head_object(Bucket=bucket, Key=f"pioneer/photos/{KEY}")
    assert head["ContentType"] == "image/jpeg"
    assert await objects(s3, bucket) == {f"pioneer/photos/{KEY}": b"photo"}


async def test_putting_an_existing_object_is_a_no_op(s3: S3Client, bucket: str) -> None:
    store = S3PhotoStore(s3, bucket)
    await store.put(KEY, b"first", "image/jpeg")
    await store.put(KEY, b"second", "image/jpeg")

    assert await store.get(KEY) == b"first"
    assert await objects(s3, bucket) == {KEY: b"first"}


async def test_a_missing_object_raises_key_error(s3: S3Client, bucket: str) -> None:
    store = S3PhotoStore(s3, bucket, prefix="pioneer")
    await S3PhotoStore(s3, bucket).put(KEY, b"photo", "image/jpeg")  # outside the prefix

    with pytest.raises(KeyError):
        await store.get(KEY)
    assert not await store.exists(KEY)


@pytest.mark.parametrize("key", ["../outside.jpg", "ab/../x.jpg", "/abs.jpg", "a//b", ""])
async def test_malformed_keys_never_reach_the_bucket(s3: S3Client, bucket: str, key: str) -> None:
    store = S3PhotoStore(s3, bucket)
    with pytest.raises(ValueError):
        await store.put(key, b"photo", "image/jpeg")
    with pytest.raises(ValueError):
        await store.get(key)
    assert await objects(s3, bucket) == {}


def test_an_s3_store_needs_a_bucket_and_both_keys_or_neither() -> None:
    with pytest.raises(ValueError, match="S3_BUCKET"):
        make_settings("sqlite+aiosqlite://", photo_store="s3")
    with pytest.raises(ValueError, match="S3_SECRET_ACCESS_KEY"):
        make_settings("sqlite+aiosqlite://", photo_store="s3", s3_bucket="b", s3_access_key_id="k")


async def test_an_upload_through_the_api_lands_in_the_bucket(
    database_url: str, wechat: FakeWeChat, org: Org, s3_endpoint: str, bucket: str, s3: S3Client
) -> None:
    settings = s3_settings(database_url, s3_endpoint, bucket)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            buffer = BytesIO()
            Image.new("RGB", (24, 16), (1, 90, 199)).save(buffer, format="PNG")
            uploaded = await client.post(
                "/api/v1/photos",
                files={"file": ("现场.png", buffer.getvalue(), "image/png")},
                headers=org.headers("member_a1"),
            )
            assert uploaded.status_code == 201, uploaded.text
            photo = uploaded.json()
            shown = await client.get(
                f"/api/v1/photos/{photo['id']}", headers=org.headers("leader_a1")
            )
    stored = await objects(s3, bucket)
    assert list(stored) == [f"pioneer/photos/{photo_key(photo['sha256'], 'png')}"]
    assert list(stored.values()) == [shown.content]
    assert hashlib.sha256(shown.content).hexdigest() == photo["sha256"]
