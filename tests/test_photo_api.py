"""Evidence photos through the API: cleaned on upload, stored once, shown only to reviewers."""

import asyncio
import random
import threading
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from api import photos
from api.config import Settings
from api.photos import PhotoLimits, ProcessedPhoto, process_photo
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.workflow import attach, file_claim, shanghai_today


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


def scene(seed: int) -> Image.Image:
    """A photo-like picture: smooth colour fields, different for each seed."""
    rng = random.Random(seed)
    coarse = Image.new("RGB", (16, 12))
    coarse.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
    return coarse.resize((640, 480), Image.Resampling.BICUBIC)


def encoded(image: Image.Image, kind: str = "JPEG", **options: Any) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


async def test_a_photo_reused_anywhere_is_flagged_on_a_claim_even_as_a_near_copy(
    client: httpx.AsyncClient, org: Org
) -> None:
    """The same picture — saved again, recompressed, a pixel changed — used as evidence for a
    deduction, an appeal and a micro-wish is counted against a claim that uses it too."""
    await attach(client, org, "lutou")
    original = scene(1)
    touched = original.copy()
    touched.putpixel((10, 10), (255, 0, 0))

    async def uploaded(who: str, data: bytes) -> int:
        response = await upload(client, org, who, data)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    claimed = await uploaded("member_a1", encoded(original, quality=95))
    copies = {
        "secretary_a": await uploaded("secretary_a", encoded(original, quality=40)),
        "member_a1b": await uploaded("member_a1b", encoded(touched, "PNG")),
        "member_a2": await uploaded("member_a2", encoded(touched, quality=70)),
    }
    assert len({claimed, *copies.values()}) == 4  # four different files

    deducted = await client.post(
        f"/api/v1/members/{org.id('member_a1b')}/deductions",
        json={
            "item_code": "dues_late",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "逾期交纳党费",
            "photo_ids": [copies["secretary_a"]],
        },
        headers=org.headers("secretary_a"),
    )
    assert deducted.status_code == 201, deducted.text
    appealed = await client.post(
        f"/api/v1/entries/{deducted.json()['entry']['id']}/appeals",
        json={"reason": "已按时交纳", "photo_ids": [copies["member_a1b"]]},
        headers=org.headers("member_a1b"),
    )
    assert appealed.status_code == 201, appealed.text
    wishes = f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes"
    wish = await client.post(
        wishes,
        json={"title": "修水管", "description": "厨房漏水", "location": "3组", "contact": "135"},
        headers=org.headers("secretary_a"),
    )
    assert wish.status_code == 201, wish.text
    wish_url = f"/api/v1/micro-wishes/{wish.json()['id']}"
    assert (await client.post(f"{wish_url}/take", headers=org.headers("member_a2"))).is_success
    completed = await client.post(
        f"{wish_url}/complete",
        json={"note": "已修好", "photo_ids": [copies["member_a2"]]},
        headers=org.headers("member_a2"),
    )
    assert completed.status_code == 200, completed.text

    unrelated = await uploaded("member_a1", encoded(scene(2)))
    claim = await file_claim(client, org, "member_a1", "key-near-0001", [claimed])
    assert claim.status_code == 201, claim.text
    other = await file_claim(client, org, "member_a1", "key-near-0002", [unrelated])
    inbox = await client.get("/api/v1/claims/review-inbox", headers=org.headers("leader_a1"))
    flags = {c["id"]: c["evidence_reuse"] for c in inbox.json()["items"]}
    assert flags == {claim.json()["id"]: 3, other.json()["id"]: 0}
    again = await upload(client, org, "member_a1b", encoded(original, quality=60))
    assert again.json()["used_as_evidence"] == 4


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


async def test_a_member_sees_the_photo_a_deduction_against_them_cites(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "heyang")
    photo_id = (await upload(client, org, "secretary_a", jpeg_with_gps())).json()["id"]
    recorded = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": "meeting_absent",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "无故缺席支部党员大会",
            "photo_ids": [photo_id],
        },
        headers=org.headers("secretary_a"),
    )
    assert recorded.status_code == 201, recorded.text
    url = f"/api/v1/photos/{photo_id}"
    assert (await client.get(url, headers=org.headers("member_a1"))).status_code == 200
    for who in ("member_a1b", "leader_a2", "secretary_b"):
        assert (await client.get(url, headers=org.headers(who))).status_code == 404, who


def _remove_stored(folder: Path) -> int:
    files = list(folder.rglob("*.jpg"))
    for stored in files:
        stored.unlink()
    return len(files)


async def test_a_photo_whose_file_is_gone_says_so(
    client: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    photo_id = (await upload(client, org, "member_a1", jpeg_with_gps())).json()["id"]
    removed = await asyncio.to_thread(_remove_stored, Path(settings.photo_dir))
    assert removed
    response = await client.get(f"/api/v1/photos/{photo_id}", headers=org.headers("member_a1"))
    assert response.status_code == 404
    assert response.json()["code"] == "photo_file_missing"
