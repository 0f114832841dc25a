"""What one request may send: bodies bounded per route before anything reads or stores them,
uploads read only once their sender is known and never onto the disk, lists and maps bounded in
every request schema, and a statement too big for the driver answered as the client's fault."""

import asyncio
import json
import re
import tempfile
import typing
from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from pydantic import BaseModel
from sqlmodel import col, select
from starlette.types import Message

from api.config import Settings
from api.db import SessionDep
from api.models import Member
from tests.conftest import Org, make_settings, running_app
from tests.test_access_matrix import mounted

LOGIN = "/api/v1/auth/wechat/login"
PHOTOS = "/api/v1/photos"
CJK = re.compile(r"[\u4e00-\u9fff]")
CHUNK = 16 * 1024
BOUNDARY = "limitsb"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, photo_dir=str(tmp_path / "photos"))


class Spools:
    """Every temporary file made while a request runs outside the photo store (which writes a
    stored photo through one): a spooled upload rolls over to such a file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, store: Path) -> None:
        self.created: list[str] = []
        self.store = store
        for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp"):
            monkeypatch.setattr(tempfile, name, self._recording(name, getattr(tempfile, name)))

    def _recording(self, name: str, make: Any) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            folder = kwargs.get("dir")
            if folder is None or not Path(folder).is_relative_to(self.store):
                self.created.append(name)
            return make(*args, **kwargs)

        return record


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Spools:
    return Spools(monkeypatch, Path(settings.photo_dir))


class Stream:
    """A body sent without a length (chunked), counting how much of it the server pulled."""

    def __init__(self, head: bytes, filler: int, tail: bytes = b"") -> None:
        self.head, self.filler, self.tail = head, filler, tail
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            self.sent += len(chunk)
            yield chunk

    def _chunks(self) -> Iterator[bytes]:
        yield self.head
        for _ in range(self.filler // CHUNK):
            yield b"\0" * CHUNK
        yield self.tail


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert CJK.search(body["message"]), body
    return body


def form_head(name: str = "现场.jpg") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()


def form_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def multipart(content: bytes) -> bytes:
    return form_head() + content + form_tail()


FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def jpeg(padding: int = 0) -> bytes:
    buffer = BytesIO()
    Image.effect_noise((64, 48), 60).convert("RGB").save(buffer, format="JPEG")
    # Bytes after the end of the picture: still the same photo, and as long as we like.
    return buffer.getvalue() + b"\0" * padding


# --- bodies --------------------------------------------------------------------------------------


async def test_a_json_body_over_its_cap_is_refused_by_its_length(
    client: httpx.AsyncClient,
) -> None:
    body = json.dumps({"code": "x" * 100_000}).encode()
    response = await client.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    problem = refused(response, 413, "body_too_large")
    assert problem["detail"] == {"max_bytes": 64 * 1024}
    assert response.headers["connection"] == "close"


async def test_a_chunked_json_body_is_cut_at_the_cap(client: httpx.AsyncClient) -> None:
    stream = Stream(b'{"code": "', 8 * 1024 * 1024, b'"}')
    response = await client.post(
        LOGIN, content=stream, headers={"Content-Type": "application/json"}
    )
    refused(response, 413, "body_too_large")
    assert "content-length" not in response.request.headers
    assert stream.sent <= 64 * 1024 + 2 * CHUNK


UNSIGNED_UPLOADS = {
    "oversized": lambda: multipart(jpeg(20 * 1024 * 1024)),
    "normal": lambda: multipart(jpeg(2 * 1024 * 1024)),
}


@pytest.mark.parametrize("size", UNSIGNED_UPLOADS)
async def test_an_upload_without_a_token_never_touches_the_disk(
    client: httpx.AsyncClient, spools: Spools, settings: Settings, size: str
) -> None:
    response = await client.post(PHOTOS, content=UNSIGNED_UPLOADS[size](), headers=FORM)
    assert response.status_code in (401, 413), response.text
    assert response.status_code == (413 if size == "oversized" else 401)
    assert spools.created == []
    assert not await asyncio.to_thread(Path(settings.photo_dir).exists)


async def test_a_chunked_upload_without_a_token_is_not_read(
    client: httpx.AsyncClient, spools: Spools
) -> None:
    stream = Stream(form_head(), 4 * 1024 * 1024, form_tail())
    response = await client.post(PHOTOS, content=stream, headers=FORM)
    refused(response, 401, "not_authenticated")
    assert stream.sent == 0
    assert spools.created == []


async def test_a_chunked_upload_is_cut_at_the_photo_cap(
    client: httpx.AsyncClient, org: Org, spools: Spools
) -> None:
    stream = Stream(form_head() + jpeg(), 64 * 1024 * 1024, form_tail())
    response = await client.post(
        PHOTOS, content=stream, headers={**FORM, **org.headers("member_a1")}
    )
    refused(response, 413, "photo_too_large")
    assert stream.sent <= 10 * 1024 * 1024 + 64 * 1024 + 2 * CHUNK
    assert spools.created == []


async def test_a_signed_in_upload_is_read_into_memory_only(
    client: httpx.AsyncClient, org: Org, spools: Spools
) -> None:
    data = jpeg(3 * 1024 * 1024)
    response = await client.post(
        PHOTOS, files={"file": ("现场.jpg", data, "image/jpeg")}, headers=org.headers("member_a1")
    )
    assert response.status_code == 201, response.text
    assert spools.created == []


async def test_the_roster_upload_has_its_own_cap(
    client: httpx.AsyncClient, org: Org, spools: Spools
) -> None:
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/roster/previews"
    headers = org.headers("secretary_a")
    # Far over the JSON cap, within the roster's: it reaches the parser, which finds no sheet.
    sheet = await client.post(
        url, files={"file": ("花名册.xlsx", b"0" * 1024 * 1024)}, headers=headers
    )
    refused(sheet, 400, "roster_unreadable")
    too_big = b"0" * (5 * 1024 * 1024 + 1)
    response = await client.post(url, files={"file": ("花名册.xlsx", too_big)}, headers=headers)
    refusal = refused(response, 413, "roster_file_too_large")
    assert refusal["detail"] == {"max_bytes": 5 * 1024 * 1024}
    assert spools.created == []


async def test_a_roster_from_someone_who_may_not_import_is_not_read(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Any member may upload photos; only secretaries and admins import rosters, so another
    member's roster is refused before its megabytes are read into memory."""
    url = f"/api/v1/org/units/{org.unit_id('group_a1')}/roster/previews"
    for who in ("member_a1", "leader_a1", "committee_a"):
        stream = Stream(form_head("花名册.xlsx"), 4 * 1024 * 1024, form_tail())
        response = await client.post(url, content=stream, headers={**FORM, **org.headers(who)})
        assert response.status_code in (403, 404), response.text
        assert stream.sent <= 2 * CHUNK, (who, stream.sent)


async def test_the_caps_are_settings(
    database_url: str, tmp_path: Path, org: Org, wechat: Any
) -> None:
    settings = make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), photo_max_bytes=64 * 1024
    )
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            files = {"file": ("现场.jpg", jpeg(100 * 1024), "image/jpeg")}
            response = await http.post(PHOTOS, files=files, headers=org.headers("member_a1"))
    body = refused(response, 413, "photo_too_large")
    assert body["detail"] == {"max_bytes": 64 * 1024}


async def test_every_route_refuses_a_body_over_its_cap_before_reading_it(
    database_url: str, tmp_path: Path, wechat: Any
) -> None:
    """Each route of the table, by what its body may hold: photo and roster uploads their own
    caps, WeChat pushes (both apps') theirs, every other route the JSON cap."""
    settings = make_settings(
        database_url,
        photo_dir=str(tmp_path / "photos"),
        body_max_bytes=4096,
        photo_max_bytes=100_000,
        roster_max_bytes=120_000,
    )
    uploads = {"/api/v1/photos": 100_000, "/api/v1/org/units/{unit_id}/roster/previews": 120_000}
    pushes = {"/api/v1/wechat/callback", "/api/v1/wechat/callback/service"}
    checked = set()
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for prefix, route in mounted():
                path = prefix + route.path
                for method in (route.methods or set()) & {"POST", "PUT", "PATCH"}:
                    if path in uploads:
                        cap, code = uploads[path] + 64 * 1024, "too_large"
                    elif path in pushes:
                        cap, code = 256 * 1024, "body_too_large"
                    else:
                        cap, code = 4096, "body_too_large"
                    url = re.sub(r"\{[a-z_]+\}", "1", path)
                    response = await http.request(method, url, content=b"x" * (cap + 1))
                    assert response.status_code == 413, (method, path, response.text)
                    assert response.json()["code"].endswith(code), (method, path)
                    checked.add(path)
    assert uploads.keys() | pushes <= checked


async def test_a_client_leaving_mid_upload_is_no_fault_of_ours(
    app: FastAPI, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    headers = [
        (b"content-type", FORM["Content-Type"].encode()),
        (b"authorization", org.headers("member_a1")["Authorization"].encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PHOTOS,
        "raw_path": PHOTOS.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    arriving: list[Message] = [
        {"type": "http.request", "body": form_head() + jpeg(), "more_body": True},
        {"type": "http.disconnect"},
    ]
    messages = iter(arriving)
    sent: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["code"] == "upload_malformed"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


# --- lists and maps ------------------------------------------------------------------------------


async def test_forty_thousand_keys_are_the_clients_fault_not_an_outage(
    client: httpx.AsyncClient, org: Org
) -> None:
    results = {f"template-{n}": "reject" for n in range(40_000)}
    response = await client.post(
        "/api/v1/me/subscriptions", json={"results": results}, headers=org.headers("member_a1")
    )
    refused(response, 413, "body_too_large")


async def test_a_subscription_report_is_bounded_in_templates(
    client: httpx.AsyncClient, org: Org
) -> None:
    results = {f"template-{n}": "reject" for n in range(21)}
    response = await client.post(
        "/api/v1/me/subscriptions", json={"results": results}, headers=org.headers("member_a1")
    )
    refused(response, 422, "validation_error")


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _unbounded(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        origins = {
            typing.get_origin(a) for a in (field.annotation, *typing.get_args(field.annotation))
        }
        many = origins & {list, tuple, set, frozenset, dict}
        if many and not any(getattr(m, "max_length", None) for m in field.metadata):
            yield f"{model.__module__}.{model.__name__}.{name}"
        for nested in _models(field.annotation):
            yield from _unbounded(nested, seen)


def test_every_request_schema_bounds_its_lists_and_maps() -> None:
    seen: set[type[BaseModel]] = set()
    unbounded = [
        found
        for _, route in mounted()
        for parameter in route.dependant.body_params
        for model in _models(parameter.field_info.annotation)
        for found in _unbounded(model, seen)
    ]
    assert len(seen) > 25
    assert unbounded == []


async def test_a_statement_over_the_drivers_argument_limit_is_a_client_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def crowded(session: SessionDep) -> None:
        # More values than either driver binds: asyncpg takes 32 767, this SQLite 250 000.
        await session.execute(select(Member.id).where(col(Member.id).in_(range(300_000))))

    app.add_api_route("/crowded", crowded, methods=["GET"])
    refused(await client.get("/crowded"), 422, "too_many_items")
