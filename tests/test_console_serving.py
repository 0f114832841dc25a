"""The built console at /admin and the API docs at /docs, each asset served by us with the
cache and the content policy it needs; JSON keeps the API's policy that lets nothing run."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.main import API_CSP, CONSOLE_CSP
from tests.conftest import make_settings, running_app
from tests.fakes.wechat import FakeWeChat

INDEX = '<!doctype html><script type="module" src="/admin/assets/index-3f2a1b.js"></script>'
SCRIPT = "console.log('工作台')"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX, encoding="utf-8")
    (dist / "assets" / "index-3f2a1b.js").write_text(SCRIPT, encoding="utf-8")
    (dist / "favicon.svg").write_text("<svg/>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")
    return dist


async def _client(
    database_url: str, wechat: FakeWeChat, console_dir: Path, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, console_dir=str(console_dir), **overrides)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


@pytest.fixture
async def client(
    database_url: str, wechat: FakeWeChat, built: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(database_url, wechat, built):
        yield client


async def test_the_console_is_served_with_its_own_policy_and_caching(
    client: httpx.AsyncClient,
) -> None:
    entry = await client.get("/admin")
    assert (entry.status_code, entry.headers["location"]) == (308, "/admin/")
    index = await client.get("/admin/")
    assert (index.status_code, index.text) == (200, INDEX)
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["content-security-policy"] == CONSOLE_CSP
    assert index.headers["x-frame-options"] == "DENY"
    asset = await client.get("/admin/assets/index-3f2a1b.js")
    assert (asset.status_code, asset.text) == (200, SCRIPT)
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]
    icon = await client.get("/admin/favicon.svg")
    assert (icon.status_code, icon.headers["cache-control"]) == (200, "no-cache")


def test_the_console_runs_its_own_scripts_only() -> None:
    policy = dict(part.strip().split(" ", 1) for part in CONSOLE_CSP.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "http" not in CONSOLE_CSP


async def test_the_console_routes_fall_back_to_its_page_but_assets_do_not(
    client: httpx.AsyncClient,
) -> None:
    for route in ("/admin/workbench", "/admin/org/units/3", "/admin/login?next=%2Freview"):
        answer = await client.get(route)
        assert (answer.status_code, answer.text) == (200, INDEX), route
        assert answer.headers["cache-control"] == "no-cache"
    missing = await client.get("/admin/assets/index-000000.js")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert missing.headers["content-security-policy"] == CONSOLE_CSP


async def test_nothing_outside_the_build_is_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/admin/../secret.txt",
        "/admin/%2e%2e/secret.txt",
        "/admin/assets/../../secret.txt",
    ):
        answer = await client.get(path)
        assert "not for the web" not in answer.text, path


async def test_without_a_build_the_console_says_how_to_make_one(
    database_url: str, wechat: FakeWeChat, tmp_path: Path
) -> None:
    async for client in _client(database_url, wechat, tmp_path / "nowhere"):
        page = await client.get("/admin/")
        assert page.status_code == 503
        assert "npm ci" in page.text and "make run" in page.text
        assert (await client.get("/healthz")).status_code == 200


async def test_json_keeps_the_api_policy(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/me", "/api/v1/auth/dev/accounts", "/healthz", "/administration"):
        answer = await client.get(path)
        assert answer.headers["content-security-policy"] == API_CSP, path


async def test_the_docs_load_every_asset_from_us(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        answer = await client.get(page)
        assert answer.status_code == 200, page
        assert "http" not in answer.text, page
        assert "<script>" not in answer.text, page
        for url in re.findall(r'(?:src|href)="([^"]+)"', answer.text):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
        assert "http" not in answer.headers["content-security-policy"]
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.")


async def test_the_docs_are_off_in_prod_unless_asked_for(
    database_url: str, wechat: FakeWeChat, built: Path
) -> None:
    prod = {"env": "prod", "data_key": "k" * 40}
    async for client in _client(database_url, wechat, built, **prod):
        for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js", "/openapi.json"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/admin/")).status_code == 200
    async for client in _client(database_url, wechat, built, docs_in_prod=True, **prod):
        assert (await client.get("/docs")).status_code == 200
