"""Evidence photos through the API: cleaned on upload, stored once, shown only to reviewers."""

import asyncio
import threading
import time
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api import photos
from api.photos import PhotoLimits, ProcessedPhoto, process_photo
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.workflow import attach, file_claim


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 5.0, 0.0)}
    buffer = BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient, org: Org, who: str, data: bytes, name: str = "现场.jpg"
) -> httpx.Response:
    return await client.post(
        "/api/v1/photos", files={"file": (name, data, "image/jpeg")}, headers=org.headers(who)
    )


async def test_an_upload_loses_its_gps_and_is_stored_once(
    client: httpx.AsyncClient, org: Org
) -> None:
    original = jpeg_with_gps()
    assert Image.open(BytesIO(original)).getexif().get_ifd(0x8825)
    first = await upload(client, org, "member_a1", original)
    assert first.status_code == 201, first.text
    second = await upload(client, org, "member_a1", original)
    assert second.json()["id"] == first.json()["id"]
    stored = await client.get(
        f"/api/v1/photos/{first.json()['id']}", headers=org.headers("member_a1")
    )
    assert stored.headers["content-type"] == "image/jpeg"
    assert not Image.open(BytesIO(stored.content)).getexif()
    assert b"Exif" not in stored.content


async def test_a_gif_named_jpg_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    buffer = BytesIO()
    Image.new("P", (8, 8)).save(buffer, format="GIF")
    response = await upload(client, org, "member_a1", buffer.getvalue())
    assert response.status_code == 415
    assert response.json()["code"] == "photo_type_not_allowed"


async def test_an_oversized_upload_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await upload(client, org, "member_a1", b"\xff\xd8" + b"0" * (10 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "photo_too_large"


async def test_photos_are_shown_to_the_uploader_and_their_leaders_only(
    client: httpx.AsyncClient, org: Org
) -> None:
    photo_id = (await upload(client, org, "member_a1", jpeg_with_gps())).json()["id"]
    url = f"/api/v1/photos/{photo_id}"
    assert (await client.get(url, headers=org.headers("leader_a1"))).status_code == 200
    assert (await client.get(url, headers=org.headers("secretary_a"))).status_code == 200
    for who in ("member_a1b", "leader_a2", "secretary_b", "admin2"):
        assert (await client.get(url, headers=org.headers(who))).status_code == 404, who


async def test_a_reused_photo_says_how_often_it_was_claimed(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "lutou")
    data = jpeg_with_gps()
    photo_id = (await upload(client, org, "member_a1", data)).json()["id"]
    claimed = await file_claim(client, org, "member_a1", "key-reuse-01", [photo_id])
    assert claimed.status_code == 201
    again = await upload(client, org, "member_a1b", data)
    assert again.json()["used_in_claims"] == 1


@pytest.mark.parametrize("decodes", [1, 2])
async def test_a_process_decodes_only_so_many_photos_at_once(
    database_url: str,
    tmp_path: Path,
    wechat: FakeWeChat,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
    decodes: int,
) -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def tracked(data: bytes, limits: PhotoLimits) -> ProcessedPhoto:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return process_photo(data, limits)

    monkeypatch.setattr(photos, "process_photo", tracked)
    settings = make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), photo_decodes=decodes
    )
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(
                *(upload(http, org, "member_a1", jpeg_of_colour(n)) for n in range(4))
            )
    assert [a.status_code for a in answers] == [201] * 4
    assert most == decodes


def jpeg_of_colour(n: int) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (40, 30), (n * 40, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()
