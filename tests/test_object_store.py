"""Photos on an S3-compatible store, and the signed URLs that show photos without a token.

The store is moto's S3 server, started in this process on a free port: a real HTTP server that
speaks the S3 API, as Tencent COS, Aliyun OSS and MinIO do. The API tests run on both stores.
"""

import hashlib
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import func, select
from types_aiobotocore_s3 import S3Client

from api import links
from api.config import Settings
from api.models import Photo, utcnow
from api.storage import S3PhotoStore, photo_key
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.workflow import attach, file_claim, shanghai_today

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


@pytest.fixture(params=["local", "s3"])
async def settings(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    s3_endpoint: str,
    s3: S3Client,
) -> Settings:
    if request.param == "local":
        return make_settings(database_url, photo_dir=str(tmp_path / "photos"))
    name = f"photos-{uuid.uuid4().hex[:12]}"
    await s3.create_bucket(Bucket=name)
    return s3_settings(database_url, s3_endpoint, name)


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


# --- through the API ---------------------------------------------------------------------------


def picture(n: int) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (24, 16), (n, 90, 200 - n)).save(buffer, format="PNG")
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, org: Org, who: str, n: int) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/photos",
        files={"file": ("现场.png", picture(n), "image/png")},
        headers=org.headers(who),
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def later(monkeypatch: pytest.MonkeyPatch, by: timedelta) -> None:
    """The signed route's clock moves on; the links already issued stay as they were."""
    moved = utcnow() + by
    monkeypatch.setattr(links, "utcnow", lambda: moved)


async def test_an_uploaded_photo_loads_by_its_url_without_a_token(
    client: httpx.AsyncClient, org: Org, settings: Settings, s3: S3Client
) -> None:
    uploaded = await upload(client, org, "member_a1", 1)
    url = uploaded["url"]
    assert url.startswith(f"http://test/api/v1/photos/{uploaded['id']}/content?")
    expires_at = datetime.fromisoformat(uploaded["url_expires_at"])
    assert abs(expires_at - (utcnow() + settings.photo_link_ttl)) < timedelta(seconds=5)

    loaded = await client.get(url)

    assert loaded.status_code == 200, loaded.text
    assert hashlib.sha256(loaded.content).hexdigest() == uploaded["sha256"]
    assert loaded.headers["content-type"] == "image/png"
    assert loaded.headers["x-content-type-options"] == "nosniff"
    max_age = re.fullmatch(r"private, max-age=(\d+)", loaded.headers["cache-control"])
    assert max_age and 0 < int(max_age[1]) <= settings.photo_link_seconds
    if settings.photo_store == "s3":
        stored = await objects(s3, settings.s3_bucket)
        assert list(stored) == [f"pioneer/photos/{photo_key(uploaded['sha256'], 'png')}"]
        assert list(stored.values()) == [loaded.content]


async def test_a_photo_url_stops_loading_when_it_expires(
    client: httpx.AsyncClient, org: Org, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (await upload(client, org, "member_a1", 2))["url"]
    ttl = settings.photo_link_ttl

    later(monkeypatch, ttl - timedelta(seconds=5))
    still = await client.get(url)
    assert still.status_code == 200, still.text
    assert int(still.headers["cache-control"].rsplit("=", 1)[1]) <= 5

    later(monkeypatch, ttl)
    expired = await client.get(url)
    assert expired.status_code == 403
    assert expired.json()["code"] == "link_expired"


async def test_a_photo_url_opens_no_other_photo(client: httpx.AsyncClient, org: Org) -> None:
    mine = await upload(client, org, "member_a1", 3)
    theirs = await upload(client, org, "member_c", 4)
    query = urlsplit(mine["url"]).query
    base = "/api/v1/photos"

    other = await client.get(f"{base}/{theirs['id']}/content?{query}")
    assert other.status_code == 403
    assert other.json()["code"] == "link_invalid"
    signature = parse_qs(query)["signature"][0]
    expires = int(parse_qs(query)["expires"][0])
    stretched = await client.get(
        f"{base}/{mine['id']}/content", params={"expires": expires + 3600, "signature": signature}
    )
    assert stretched.json()["code"] == "link_invalid"
    bare = await client.get(f"{base}/{mine['id']}/content")
    assert bare.status_code == 422


async def test_photo_urls_are_issued_only_to_who_may_see_the_photo(
    client: httpx.AsyncClient, org: Org
) -> None:
    """One ledger entry cites a photo of group A2: the admin and the branch secretary get its
    URL; the member the entry is about and the leader of group A1 see the citation, no URL."""
    await attach(client, org, "heyang")
    cited = await upload(client, org, "member_a2", 5)
    adjusted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "volunteer_service",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "志愿服务补记",
            "evidence": [cited["id"]],
        },
        headers=org.headers("admin"),
    )
    assert adjusted.status_code == 201, adjusted.text
    assert [p["id"] for p in adjusted.json()["photos"]] == [cited["id"]]

    async def shown(who: str) -> list[dict[str, Any]]:
        response = await client.get(
            f"/api/v1/members/{org.id('member_a1')}/entries", headers=org.headers(who)
        )
        assert response.status_code == 200, response.text
        (entry,) = response.json()["items"]
        assert entry["evidence"] == [cited["id"]]
        photos: list[dict[str, Any]] = entry["photos"]
        return photos

    for who in ("admin", "secretary_a"):
        (photo,) = await shown(who)
        assert (await client.get(photo["url"])).status_code == 200, who
    for who in ("member_a1", "leader_a1"):
        assert await shown(who) == [], who


async def test_claim_photos_come_with_urls_in_the_inbox_and_the_details(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "lutou")
    first = await upload(client, org, "member_a1", 6)
    second = await upload(client, org, "member_a1", 7)
    claimed = await file_claim(
        client, org, "member_a1", "key-photos-01", [second["id"], first["id"]]
    )
    assert claimed.status_code == 201, claimed.text
    assert [p["id"] for p in claimed.json()["photos"]] == [second["id"], first["id"]]

    inbox = await client.get("/api/v1/claims/review-inbox", headers=org.headers("leader_a1"))
    (claim,) = inbox.json()["items"]
    detail = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    for shown in (claim["photos"], detail.json()["photos"]):
        assert [p["id"] for p in shown] == [second["id"], first["id"]]
        loaded = [await client.get(p["url"]) for p in shown]
        assert [hashlib.sha256(r.content).hexdigest() for r in loaded] == [
            second["sha256"],
            first["sha256"],
        ]


async def test_appeal_and_micro_wish_photos_come_with_urls_for_who_may_see_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "lutou")
    proof = await upload(client, org, "secretary_a", 12)
    deducted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": "dues_late",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "逾期交纳党费",
            "photo_ids": [proof["id"]],
        },
        headers=org.headers("secretary_a"),
    )
    assert deducted.status_code == 201, deducted.text
    assert [p["id"] for p in deducted.json()["entry"]["photos"]] == [proof["id"]]
    receipt = await upload(client, org, "member_a1", 13)
    appealed = await client.post(
        f"/api/v1/entries/{deducted.json()['entry']['id']}/appeals",
        json={"reason": "已按时交纳", "photo_ids": [receipt["id"]]},
        headers=org.headers("member_a1"),
    )
    assert appealed.status_code == 201, appealed.text
    assert [p["id"] for p in appealed.json()["photos"]] == [receipt["id"]]
    seen = await client.get(
        f"/api/v1/appeals/{appealed.json()['id']}", headers=org.headers("secretary_a")
    )
    (shown,) = seen.json()["photos"]
    assert (await client.get(shown["url"])).content == (await client.get(receipt["url"])).content

    wishes = f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes"
    wish = await client.post(
        wishes,
        json={"title": "修水管", "description": "厨房漏水", "location": "3组", "contact": "135"},
        headers=org.headers("secretary_a"),
    )
    wish_url = f"/api/v1/micro-wishes/{wish.json()['id']}"
    assert (await client.post(f"{wish_url}/take", headers=org.headers("member_a2"))).is_success
    done = await upload(client, org, "member_a2", 14)
    completed = await client.post(
        f"{wish_url}/complete",
        json={"note": "已修好", "photo_ids": [done["id"]]},
        headers=org.headers("member_a2"),
    )
    assert [p["id"] for p in completed.json()["photos"]] == [done["id"]]
    for who, expected in (("secretary_a", [done["id"]]), ("member_a1b", [])):
        (listed,) = (await client.get(wishes, headers=org.headers(who))).json()["items"]
        assert listed["evidence"] == [done["id"]]
        assert [p["id"] for p in listed["photos"]] == expected, who


@pytest.mark.parametrize("settings", ["local"], indirect=True)
async def test_urls_name_the_public_origin_when_one_is_set(
    database_url: str, tmp_path: Path, wechat: FakeWeChat, org: Org
) -> None:
    settings = make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), api_public_url="https://api.example.cn/"
    )
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal") as client:
            uploaded = await upload(client, org, "member_a1", 8)
            url = uploaded["url"]
            assert url.startswith(f"https://api.example.cn/api/v1/photos/{uploaded['id']}/content?")
            path = url.removeprefix("https://api.example.cn")
            assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("settings", ["s3"], indirect=True)
async def test_an_upload_through_the_api_lands_in_the_bucket(
    database_url: str, wechat: FakeWeChat, org: Org, s3_endpoint: str, bucket: str, s3: S3Client
) -> None:
    """And the Bearer download reads it back from there."""
    settings = s3_settings(database_url, s3_endpoint, bucket)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            photo = await upload(client, org, "member_a1", 11)
            shown = await client.get(
                f"/api/v1/photos/{photo['id']}", headers=org.headers("leader_a1")
            )
    stored = await objects(s3, bucket)
    assert list(stored) == [f"pioneer/photos/{photo_key(photo['sha256'], 'png')}"]
    assert list(stored.values()) == [shown.content]
    assert hashlib.sha256(shown.content).hexdigest() == photo["sha256"]


# --- presigned at the store ----------------------------------------------------------------------


@pytest.mark.parametrize("settings", ["s3"], indirect=True)
async def test_presigned_urls_load_from_the_bucket_without_a_token(
    database_url: str,
    wechat: FakeWeChat,
    org: Org,
    s3_endpoint: str,
    bucket: str,
) -> None:
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    settings = s3_settings(
        database_url, s3_endpoint, bucket, s3_presign=True, s3_public_endpoint_url=public
    )
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            uploaded = await upload(client, org, "member_a1", 9)
    url = uploaded["url"]
    assert url.startswith(f"{public}/{bucket}/pioneer/photos/")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == [str(settings.photo_link_seconds)]
    assert "X-Amz-Signature" in query

    async with httpx.AsyncClient() as phone:
        loaded = await phone.get(url)
    assert loaded.status_code == 200, loaded.text
    assert hashlib.sha256(loaded.content).hexdigest() == uploaded["sha256"]
    assert loaded.headers["content-type"] == "image/png"


@pytest.mark.parametrize("settings", ["s3"], indirect=True)
async def test_an_unreachable_store_is_a_503_and_stores_nothing(
    database_url: str, wechat: FakeWeChat, org: Org
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = s3_settings(database_url, f"http://127.0.0.1:{port}", "photos", s3_timeout_seconds=1)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/api/v1/photos",
                files={"file": ("现场.png", picture(10), "image/png")},
                headers=org.headers("member_a1"),
            )
        async with app.state.sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(Photo))
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "photo_store_unavailable"
    assert stored == 0


def test_an_s3_store_needs_a_bucket_and_presigning_needs_s3() -> None:
    with pytest.raises(ValueError, match="S3_BUCKET"):
        make_settings("sqlite+aiosqlite://", photo_store="s3")
    with pytest.raises(ValueError, match="S3_PRESIGN"):
        make_settings("sqlite+aiosqlite://", s3_presign=True)
    with pytest.raises(ValueError, match="S3_SECRET_ACCESS_KEY"):
        make_settings("sqlite+aiosqlite://", photo_store="s3", s3_bucket="b", s3_access_key_id="k")
