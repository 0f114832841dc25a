"""Hostile bytes at the two endpoints that parse them: photo uploads and WeChat pushes.

Each refusal must be a clear 4xx in the API's one error shape (`{code, message, detail}`, the
message in Chinese), never a 5xx, and must leave nothing behind: no photo row or file, no stored
push, no follower or quota changed. Hypothesis drives the cases where a family of inputs matters
more than one example; it runs in a worker thread and sends each request on the test's event loop.
"""

import asyncio
import base64
import hashlib
import io
import itertools
import json
import re
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, select
from wechatpy.crypto import PrpCrypto

from api.config import Settings
from api.models import CallbackEvent, Photo, ServiceFollower, SubscriptionQuota
from api.photos import MAX_PIXELS_PNG, MAX_UPLOAD_BYTES
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import APP_ID, FakeWeChat

Maker = async_sessionmaker[AsyncSession]
T = TypeVar("T")
CJK = re.compile(r"[\u4e00-\u9fff]")
EXAMPLES = 25
TOKEN = "fuzz-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CALLBACK = "/api/v1/wechat/callback"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Plain mode: pushes signed over the query only (no safe-mode key configured)."""
    return make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), wechat_callback_token=TOKEN
    )


@pytest.fixture
async def safe_client(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a safe-mode key, which then takes encrypted pushes only."""
    with_key = settings.model_copy(update={"wechat_encoding_aes_key": SecretStr(AES_KEY)})
    async with running_app(with_key, wechat) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def refused(response: httpx.Response, status: int, *codes: str) -> None:
    """A clear refusal: the status, one of the codes, the error shape, a Chinese message."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"code", "message", "detail", "request_id"}, body
    assert body["code"] in codes, body
    assert CJK.search(body["message"]), body


async def count(sessionmaker: Maker, model: type[SQLModel]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def for_each(
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Coroutine[Any, Any, None]],
    loop: asyncio.AbstractEventLoop,
    examples: int = EXAMPLES,
) -> None:
    """Run `check` on `examples` values of `strategy`, deterministically, on the test's loop."""

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: T) -> None:
        asyncio.run_coroutine_threadsafe(check(value), loop).result(timeout=60)

    run()


async def fuzz(
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Coroutine[Any, Any, None]],
    examples: int = EXAMPLES,
) -> None:
    await asyncio.to_thread(for_each, strategy, check, asyncio.get_running_loop(), examples)


# --- photos ---------------------------------------------------------------------------------


def image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small picture with noise, so its compressed data is long enough to cut."""
    picture = Image.effect_noise(size, 64).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format=kind)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, rows: bytes | None = None) -> bytes:
    """A grayscale PNG declaring `width` x `height`; `rows` is its (possibly short) pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(rows if rows is not None else b"\0" * 16, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid PNG of zeros: a few hundred KB that decode to width x height bytes."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) claims other dimensions."""
    data = bytearray(image("JPEG", (16, 16)))
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """An extended WebP (VP8X) whose canvas claims `width` x `height`."""
    vp8x = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def sniffable(data: bytes) -> bool:
    return data.startswith(MAGIC) or (data.startswith(b"RIFF") and data[8:12] == b"WEBP")


async def upload(
    client: httpx.AsyncClient,
    org: Org,
    data: bytes,
    name: str = "现场.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    return await client.post(
        "/api/v1/photos",
        files={"file": (name, data, content_type)},
        headers=org.headers("member_a1"),
    )


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def nothing_stored(sessionmaker: Maker, settings: Settings) -> None:
    assert await count(sessionmaker, Photo) == 0
    assert stored_files(Path(settings.photo_dir)) == []


NOT_IMAGES = {
    "nothing": b"",
    "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "bmp": b"BM" + b"\0" * 64,
    "tiff": b"II*\x00" + b"\0" * 64,
    "pdf": b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF",
    "html": "<html><script>alert('照片')</script></html>".encode(),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "zip": b"PK\x03\x04" + b"\0" * 64,
    "elf": b"\x7fELF\x02\x01\x01" + b"\0" * 64,
    "riff_not_webp": b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\0" * 16,
    "jpeg_magic_cut": b"\xff\xd8",
    "png_magic_cut": b"\x89PNG\r\n",
}


@pytest.mark.parametrize("name", NOT_IMAGES)
async def test_bytes_that_are_no_photo_are_refused_whatever_they_claim(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings, name: str
) -> None:
    for content_type in ("image/jpeg", "image/png", "application/octet-stream"):
        response = await upload(client, org, NOT_IMAGES[name], "照片.jpg", content_type)
        refused(response, 415, "photo_type_not_allowed")
    await nothing_stored(sessionmaker, settings)


async def test_random_bytes_are_refused(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings
) -> None:
    async def check(data: bytes) -> None:
        refused(await upload(client, org, data), 415, "photo_type_not_allowed")

    await fuzz(st.binary(max_size=4096).filter(lambda data: not sniffable(data)), check)
    await nothing_stored(sessionmaker, settings)


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
async def test_truncated_photos_are_unreadable(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings, kind: str
) -> None:
    whole = image(kind)

    async def check(kept: float) -> None:
        # Magic and header survive, most of the picture does not.
        cut = whole[: max(16, int(len(whole) * kept))]
        refused(await upload(client, org, cut), 422, "photo_unreadable")

    await fuzz(st.floats(min_value=0.0, max_value=0.6), check)
    await nothing_stored(sessionmaker, settings)


@pytest.mark.parametrize("magic", [*MAGIC, b"RIFF\x00\x10\x00\x00WEBP"])
async def test_garbage_behind_a_real_magic_number_is_unreadable(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: Maker,
    settings: Settings,
    magic: bytes,
) -> None:
    async def check(garbage: bytes) -> None:
        response = await upload(client, org, magic + garbage)
        refused(response, 422, "photo_unreadable", "photo_too_many_pixels")

    await fuzz(st.binary(max_size=2048), check)
    await nothing_stored(sessionmaker, settings)


BOMBS = {
    # Headers alone: no pixel data behind the claim.
    "png_header_100k_square": png(100_000, 100_000),
    "jpeg_header_65k_square": jpeg_declaring(65_000, 65_000),
    "webp_canvas_16k_square": webp_declaring(16_384, 16_384),
    # Just over our own limit, far under Pillow's: our check, not Pillow's, must refuse it.
    "png_just_over_the_limit": png(MAX_PIXELS_PNG // 5_000 + 1, 5_000),
    # A real bomb: a valid file of some hundred KB that decodes to 100 MB.
    "png_of_zeros_10k_square": png_bomb(10_000, 10_000),
}


@pytest.mark.parametrize("name", BOMBS)
async def test_decompression_bombs_are_refused_before_decoding(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings, name: str
) -> None:
    data = BOMBS[name]
    assert len(data) < 2 * 1024 * 1024
    refused(await upload(client, org, data), 422, "photo_too_many_pixels")
    await nothing_stored(sessionmaker, settings)


async def test_an_upload_over_the_limit_is_refused(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings
) -> None:
    over = image("JPEG") + b"\0" * MAX_UPLOAD_BYTES
    refused(await upload(client, org, over), 413, "photo_too_large")
    await nothing_stored(sessionmaker, settings)


TRAVERSALS = (
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/cron.d/photo.jpg",
    "photos/../../escape.jpg",
    "%2e%2e%2f%2e%2e%2fescape.jpg",
    "….jpg",
    "a" * 4096 + ".jpg",
)


@pytest.mark.parametrize("name", TRAVERSALS)
async def test_a_file_name_never_chooses_where_a_photo_goes(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: Maker,
    settings: Settings,
    tmp_path: Path,
    name: str,
) -> None:
    # Refused bytes are refused whatever the name says, and nothing is written anywhere.
    refused(await upload(client, org, b"not a photo", name), 415, "photo_type_not_allowed")
    await nothing_stored(sessionmaker, settings)
    # A real photo is kept (the name is ignored): under its content hash, inside the store.
    response = await upload(client, org, image("JPEG"), name)
    assert response.status_code == 201, response.text
    root = Path(settings.photo_dir)
    sha = response.json()["sha256"]
    assert stored_files(root) == [root / sha[:2] / sha[2:4] / f"{sha}.jpg"]
    outside = [
        path
        for path in stored_files(tmp_path)
        if not path.is_relative_to(root) and not path.name.startswith("test.db")
    ]
    assert outside == []


def multipart(parts: Sequence[tuple[str, str | None, bytes]], boundary: str = "fuzzb") -> bytes:
    """A multipart body from (field name, file name or None, content) parts."""
    chunks = []
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if filename is not None:
            head += "Content-Type: image/jpeg\r\n"
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


async def post_raw(
    client: httpx.AsyncClient, org: Org, body: bytes, content_type: str
) -> httpx.Response:
    headers = {**org.headers("member_a1"), "Content-Type": content_type}
    return await client.post("/api/v1/photos", content=body, headers=headers)


FORM = "multipart/form-data; boundary=fuzzb"
MANY_FILES = [("file", f"{n}.jpg", b"x") for n in range(1_001)]
MANY_FIELDS = [(f"f{n}", None, b"x") for n in range(1_001)]
MALFORMED: dict[str, tuple[bytes, str, int, tuple[str, ...]]] = {
    "over_a_thousand_files": (multipart(MANY_FILES), FORM, 400, ("upload_malformed",)),
    "over_a_thousand_fields": (multipart(MANY_FIELDS), FORM, 400, ("upload_malformed",)),
    "no_file_part": (multipart([("other", None, b"x")]), FORM, 422, ("validation_error",)),
    "file_as_plain_field": (multipart([("file", None, b"x")]), FORM, 422, ("validation_error",)),
    "no_boundary": (
        multipart([("file", "a.jpg", b"x")]),
        "multipart/form-data",
        400,
        ("upload_malformed",),
    ),
    "unclosed_body": (
        multipart([("file", "a.jpg", b"x")]).removesuffix(b"--fuzzb--\r\n"),
        FORM,
        422,
        ("validation_error",),
    ),
    "raw_bytes": (b"\xff\xd8\xff" + b"\0" * 64, "image/jpeg", 422, ("validation_error",)),
    "json": (b'{"file": "x"}', "application/json", 422, ("validation_error",)),
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_or_crowded_forms_are_refused(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings, name: str
) -> None:
    body, content_type, status, codes = MALFORMED[name]
    response = await post_raw(client, org, body, content_type)
    refused(response, status, *codes)
    await nothing_stored(sessionmaker, settings)


async def test_several_file_parts_store_one_photo_at_most(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, settings: Settings
) -> None:
    parts = [("file", "a.jpg", image("JPEG")), ("file", "b.jpg", b"not a photo")] * 3
    response = await post_raw(client, org, multipart(parts), FORM)
    assert response.status_code in (201, 415), response.text
    assert await count(sessionmaker, Photo) == (1 if response.status_code == 201 else 0)
    assert len(stored_files(Path(settings.photo_dir))) == await count(sessionmaker, Photo)


# --- WeChat pushes ----------------------------------------------------------------------------


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


_NONCES = itertools.count()


def fresh() -> tuple[str, str]:
    """Now, and a nonce not used before: what WeChat signs each push with."""
    return str(int(time.time())), f"n{next(_NONCES)}"


def plain() -> dict[str, str]:
    timestamp, nonce = fresh()
    return {"timestamp": timestamp, "nonce": nonce, "signature": sign(TOKEN, timestamp, nonce)}


def safe(encrypt: str) -> dict[str, str]:
    timestamp, nonce = fresh()
    return {
        "encrypt_type": "aes",
        "timestamp": timestamp,
        "nonce": nonce,
        "msg_signature": sign(TOKEN, timestamp, nonce, encrypt),
    }


def encrypted(text: str | bytes, app_id: str = APP_ID) -> str:
    key = base64.b64decode(AES_KEY + "=")
    cipher: bytes = PrpCrypto(key).encrypt(text, app_id)
    return cipher.decode()


def envelope(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    )


def push(**fields: Any) -> dict[str, Any]:
    return {
        "ToUserName": "gh_test",
        "FromUserName": "o-fuzz",
        "CreateTime": 1700000000,
        "MsgType": "event",
        "Event": "subscribe",
        **fields,
    }


async def nothing_kept(sessionmaker: Maker) -> None:
    for model in (CallbackEvent, ServiceFollower, SubscriptionQuota):
        assert await count(sessionmaker, model) == 0, model.__name__


async def post_push(
    client: httpx.AsyncClient, body: bytes, query: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(CALLBACK, params=plain() if query is None else query, content=body)


def nested_xml(depth: int) -> bytes:
    return ("<xml>" + "<a>" * depth + "x" + "</a>" * depth + "</xml>").encode()


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY l0 "哈哈哈哈哈哈哈哈哈哈">'
    + "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    + "]><xml><FromUserName>&l9;</FromUserName><Event>subscribe</Event></xml>"
).encode()
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<xml><FromUserName>&x;</FromUserName><Event>subscribe</Event></xml>"
)
DTD = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ELEMENT xml ANY>]>'
    b"<xml><FromUserName>o-dtd</FromUserName><Event>subscribe</Event></xml>"
)
MALFORMED_PUSHES = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "unclosed_root": b"<xml><FromUserName>o</FromUserName>",
    "unclosed_tag": b"<xml><FromUserName>o</xml>",
    "crossed_tags": b"<xml><a><b></a></b></xml>",
    "lone_lt": b"<",
    "declaration_only": b'<?xml version="1.0"?>',
    "empty_root": b"<xml/>",
    "text_root": b"<xml>just text</xml>",
    "other_root": b"<root><Event>subscribe</Event></root>",
    "undefined_entity": b"<xml><FromUserName>&nope;</FromUserName></xml>",
    "billion_laughs": LAUGHS,
    "external_entity": XXE,
    "doctype": DTD,
    "gbk_declared": '<?xml version="1.0" encoding="GBK"?><xml><a>中文</a></xml>'.encode("gbk"),
    # Deep, yet within the size a push may have: refused for its depth.
    "deep_xml": nested_xml(30_000),
    "json_unclosed": b'{"Event": "subscribe"',
    "json_trailing": b'{"Event": "subscribe"} {}',
    "json_nan": b'{"Event": "subscribe", "FromUserName": "o", "CreateTime": NaN}',
    "json_infinity": b'{"Event": "subscribe", "FromUserName": "o", "CreateTime": -Infinity}',
    "json_huge_number": b'{"Event": "subscribe", "FromUserName": "o", "CreateTime": 1e999}',
    "json_nul": b'{"Event": "subscribe", "FromUserName": "o\\u0000x"}',
    "json_lone_surrogate": b'{"Event": "subscribe", "FromUserName": "\\ud800"}',
    "json_deep": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "json_array": b'[{"Event": "subscribe"}]',
    "json_string": b'"subscribe"',
    "gbk_bytes": "<xml><FromUserName>中文</FromUserName></xml>".encode("gbk"),
    "invalid_utf8": b"<xml><FromUserName>\xff\xfe\xfd</FromUserName></xml>",
    "utf16": "<xml><Event>subscribe</Event></xml>".encode("utf-16"),
    "latin1_json": '{"Event": "subscribe", "FromUserName": "é"}'.encode("latin-1"),
    "nul_in_xml": b"<xml><FromUserName>o\x00x</FromUserName><Event>subscribe</Event></xml>",
}


@pytest.mark.parametrize("name", MALFORMED_PUSHES)
async def test_malformed_pushes_are_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, sessionmaker: Maker, name: str
) -> None:
    body = MALFORMED_PUSHES[name]
    refused(await post_push(client, body), 400, "callback_malformed")
    # Unsigned, the same bytes are refused for the signature before anyone parses them.
    unsigned = {**plain(), "signature": "0" * 40}
    refused(await post_push(client, body, unsigned), 403, "callback_refused")
    await nothing_kept(sessionmaker)


async def test_a_huge_push_is_refused(client: httpx.AsyncClient, sessionmaker: Maker) -> None:
    # Refused for its length before a byte is read, signed or not.
    huge = json.dumps(push(Padding="x" * (8 * 1024 * 1024))).encode()
    refused(await post_push(client, huge), 413, "body_too_large")
    refused(
        await post_push(client, huge, {**plain(), "signature": "0" * 40}), 413, "body_too_large"
    )
    await nothing_kept(sessionmaker)


async def test_a_byte_order_mark_is_not_malformed(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    xml = b"\xef\xbb\xbf<xml><FromUserName>o-x</FromUserName><Event>unsubscribe</Event></xml>"
    as_json = b"\xef\xbb\xbf" + json.dumps(push(FromUserName="o-j", Event="unsubscribe")).encode()
    for body in (xml, as_json):
        response = await post_push(client, body)
        assert response.status_code == 200, response.text
    assert await count(sessionmaker, CallbackEvent) == 2


def signatures() -> dict[str, dict[str, str]]:
    """Queries signed wrongly, made at the test's time (a stale time would be refused anyway)."""
    good = plain()
    timestamp, nonce = good["timestamp"], good["nonce"]
    return {
        "missing": {"timestamp": timestamp, "nonce": nonce},
        "empty": {**good, "signature": ""},
        "wrong": {**good, "signature": "0" * 40},
        "other_token": {**good, "signature": sign("other-token", timestamp, nonce)},
        "other_timestamp": {**good, "timestamp": str(int(timestamp) + 1)},
        "upper_case": {**good, "signature": good["signature"].upper()},
        "unicode": {**good, "signature": "签名" * 20},
        "nothing": {},
    }


@pytest.mark.parametrize("name", signatures())
async def test_a_wrong_or_missing_signature_is_refused(
    client: httpx.AsyncClient, sessionmaker: Maker, name: str
) -> None:
    body = json.dumps(push()).encode()
    query = signatures()[name]
    refused(await post_push(client, body, query), 403, "callback_refused")
    query = {**query, "echostr": "echo"}
    response = await client.get(CALLBACK, params=query)
    if "signature" in query:
        refused(response, 403, "callback_refused")
    else:
        refused(response, 422, "validation_error")
    await nothing_kept(sessionmaker)


async def test_random_signatures_never_verify(client: httpx.AsyncClient) -> None:
    texts = st.text(max_size=64)

    async def check(query: tuple[str, str, str, str]) -> None:
        signature, timestamp, nonce, echostr = query
        params = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
        response = await client.get(CALLBACK, params={**params, "echostr": echostr})
        refused(response, 403, "callback_refused")

    await fuzz(st.tuples(texts, texts, texts, texts), check)


SAFE_MODE = {
    "not_base64": envelope("!!!not base64!!!"),
    "not_block_aligned": envelope(base64.b64encode(b"x" * 17).decode()),
    "random_blocks": envelope(base64.b64encode(bytes(range(48))).decode()),
    "empty_encrypt": envelope(""),
    "no_encrypt_field": b"<xml><ToUserName>gh</ToUserName></xml>",
    "inner_xml_malformed": envelope(encrypted("<xml><Event>")),
    "inner_not_utf8": envelope(encrypted(b"<xml><Event>\xff\xfe</Event></xml>")),
    "inner_nul": envelope(encrypted("<xml><Event>subscribe</Event><A>\x00</A></xml>")),
    "json_encrypt_object": b'{"Encrypt": {"a": 1}}',
}


@pytest.mark.parametrize("name", SAFE_MODE)
async def test_safe_mode_garbage_is_refused(
    safe_client: httpx.AsyncClient, sessionmaker: Maker, name: str
) -> None:
    body = SAFE_MODE[name]
    parsed = re.search(rb"<!\[CDATA\[(.*)\]\]>", body)
    encrypt = parsed.group(1).decode() if parsed else ""
    response = await post_push(safe_client, body, safe(encrypt))
    refused(response, response.status_code, "callback_malformed", "callback_refused")
    assert response.status_code in (400, 403)
    await nothing_kept(sessionmaker)


async def test_safe_mode_with_random_ciphertext_is_refused(
    safe_client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    async def check(cipher: bytes) -> None:
        encrypt = base64.b64encode(cipher).decode()
        response = await post_push(safe_client, envelope(encrypt), safe(encrypt))
        assert response.status_code in (400, 403), response.text
        refused(response, response.status_code, "callback_malformed", "callback_refused")

    await fuzz(st.binary(min_size=0, max_size=256), check)
    await nothing_kept(sessionmaker)


async def test_safe_mode_refuses_other_apps_and_wrong_signatures(
    safe_client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    xml = "<xml><FromUserName>o-safe</FromUserName><Event>subscribe</Event></xml>"
    other_app = encrypted(xml, app_id="wx-someone-else")
    refused(
        await post_push(safe_client, envelope(other_app), safe(other_app)), 403, "callback_refused"
    )
    ours = encrypted(xml)
    wrong = {**safe(ours), "msg_signature": "0" * 40}
    refused(await post_push(safe_client, envelope(ours), wrong), 403, "callback_refused")
    await nothing_kept(sessionmaker)
    # The same envelope, correctly signed, is accepted: the refusals above were about them.
    assert (await post_push(safe_client, envelope(ours), safe(ours))).status_code == 200
    assert await count(sessionmaker, CallbackEvent) == 1


async def test_safe_mode_without_an_aes_key_is_refused(
    database_url: str, wechat: FakeWeChat, sessionmaker: Maker
) -> None:
    no_key = make_settings(database_url, wechat_callback_token=TOKEN)
    async with running_app(no_key, wechat) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            ours = encrypted("<xml><Event>subscribe</Event></xml>")
            response = await post_push(http, envelope(ours), safe(ours))
    refused(response, 403, "callback_refused")
    await nothing_kept(sessionmaker)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4)
    ),
    max_leaves=12,
)
EVENTS = st.sampled_from(
    [
        "subscribe_msg_popup_event",
        "subscribe_msg_change_event",
        "subscribe_msg_sent_event",
        "TEMPLATESENDJOBFINISH",
        "subscribe",
        "unsubscribe",
        "unknown",
    ]
)
FIELDS = st.sampled_from(
    [
        "List",
        "SubscribeMsgPopupEvent",
        "SubscribeMsgChangeEvent",
        "SubscribeMsgSentEvent",
        "FromUserName",
        "UnionId",
        "Status",
        "MsgID",
        "CreateTime",
    ]
)


async def test_signed_pushes_of_any_shape_never_break_the_endpoint(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    """A plain-mode signature covers the query, not the body: any body can come signed."""

    serial = itertools.count()

    async def check(value: tuple[str, dict[str, Any]]) -> None:
        event, fields = value
        # A fresh MsgId, so that no push is dropped as a retry and each one is applied.
        body = json.dumps({**push(Event=event, **fields), "MsgId": next(serial)}).encode()
        response = await post_push(client, body)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            refused(response, 400, "callback_malformed")

    shapes = st.tuples(EVENTS, st.dictionaries(FIELDS, JSON_VALUES, max_size=4))
    await fuzz(shapes, check, examples=60)


# --- values no database column holds (found by tests/test_schemathesis.py) -------------------


async def test_text_with_a_nul_is_kept_or_refused_never_a_crash(
    client: httpx.AsyncClient, org: Org
) -> None:
    # SQLite keeps a NUL in text, PostgreSQL refuses it: a 422 then, never a 500.
    branch = org.unit_id("branch_a")
    wish = {"title": "修\x00水管", "description": "水管漏水", "location": "三组", "contact": "王"}
    calls = (
        ("PATCH", f"/api/v1/members/{org.id('member_a1')}", {"name": "张\x00三"}),
        ("POST", f"/api/v1/org/units/{branch}/micro-wishes", wish),
    )
    for method, url, body in calls:
        response = await client.request(method, url, json=body, headers=org.headers("secretary_a"))
        if response.status_code >= 300:
            refused(response, 422, "validation_error")


async def test_numbers_beyond_any_integer_column_are_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    # Beyond int32, PostgreSQL cannot even look the id up (422); SQLite finds nothing (404).
    huge = st.integers(min_value=2**31) | st.integers(max_value=-(2**31) - 1)
    admin = org.headers("admin")

    async def check(number: int) -> None:
        for url in (f"/api/v1/members/{number}", f"/api/v1/periods/{number}/results"):
            response = await client.get(url, headers=admin)
            if response.status_code == 404:
                assert abs(number) < 2**63, response.text
                refused(response, 404, "member_not_found", "period_not_found", "not_found")
            else:
                refused(response, 422, "validation_error")
        moved = await client.patch(
            f"/api/v1/members/{org.id('member_a1')}", json={"unit_id": number}, headers=admin
        )
        if moved.status_code == 404:
            refused(moved, 404, "unit_not_found")
        else:
            refused(moved, 422, "validation_error")

    await fuzz(huge, check)
