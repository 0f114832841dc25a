"""Unsafe settings are refused (in prod, and wherever WeChat is configured); the dev login never
runs there."""

import asyncio
from pathlib import Path

import httpx
import pytest
from alembic.config import Config
from pydantic import ValidationError

from alembic import command
from api import logs, worker
from api.config import DEV_JWT_SECRET, WECHAT_CREDENTIALS, Settings, get_settings
from tests.conftest import ROOT, Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat

STRONG = "x" * 48


def test_prod_refuses_the_placeholder_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="prod", jwt_secret=DEV_JWT_SECRET, wechat_app_id="wx", wechat_app_secret="s")


def test_prod_refuses_a_short_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="prod", jwt_secret="short", wechat_app_id="wx", wechat_app_secret="s")


def test_prod_requires_wechat_credentials() -> None:
    with pytest.raises(ValidationError, match="WECHAT_APP_ID"):
        Settings(env="prod", jwt_secret=STRONG)


def test_prod_reads_its_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "prod")
    monkeypatch.setenv("JWT_SECRET", "change-me")
    monkeypatch.setenv("WECHAT_APP_ID", "wx")
    monkeypatch.setenv("WECHAT_APP_SECRET", "s")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("credential", WECHAT_CREDENTIALS)
@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "change-me", "short"])
def test_a_placeholder_jwt_secret_is_refused_whenever_wechat_is_configured(
    credential: str, secret: str
) -> None:
    """ENV is left unset (dev): real WeChat users must not get tokens signed with a known key."""
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings.model_validate({"jwt_secret": secret, credential: "configured"})


def test_a_placeholder_data_key_is_refused_whenever_wechat_is_configured() -> None:
    with pytest.raises(ValidationError, match="DATA_KEY"):
        Settings(jwt_secret=STRONG, wechat_app_id="wx", data_key="change-me")
    assert Settings(jwt_secret=STRONG, wechat_app_id="wx").wechat_app_id == "wx"


def test_dev_login_is_only_for_dev_without_wechat_credentials() -> None:
    assert Settings(env="dev").dev_login_enabled
    assert not Settings(env="dev", jwt_secret=STRONG, wechat_app_id="wx").dev_login_enabled
    prod = Settings(
        env="prod", jwt_secret=STRONG, wechat_app_id="wx", wechat_app_secret="s", data_key=STRONG
    )
    assert not prod.dev_login_enabled


def test_prod_requires_a_data_key_for_the_robot_webhook_keys() -> None:
    with pytest.raises(ValidationError, match="DATA_KEY"):
        Settings(env="prod", jwt_secret=STRONG, wechat_app_id="wx", wechat_app_secret="s")


async def test_dev_login_acts_as_a_demo_member(
    database_url: str, wechat: FakeWeChat, org: Org
) -> None:
    settings = make_settings(database_url, wechat_app_id="", wechat_app_secret="")
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            accounts = await client.get("/api/v1/auth/dev/accounts")
            assert accounts.status_code == 200
            assert {"name": "admin", "phone": "13900000001"}.items() <= accounts.json()[0].items()
            login = await client.post("/api/v1/auth/dev/login", json={"phone": "13900000002"})
            assert login.status_code == 200
            token = login.json()["access_token"]
            me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["roles"][0]["role"] == "branch_secretary"


async def test_dev_login_cannot_be_used_in_prod(
    database_url: str, wechat: FakeWeChat, org: Org
) -> None:
    settings = make_settings(database_url, env="prod", data_key=STRONG)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post("/api/v1/auth/dev/login", json={"phone": "13900000002"})
            assert login.status_code == 404
            assert login.json()["code"] == "dev_login_disabled"
            accounts = await client.get("/api/v1/auth/dev/accounts")
            assert accounts.status_code == 404


async def test_dev_login_is_off_when_wechat_is_configured(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post("/api/v1/auth/dev/login", json={"phone": "13900000002"})
    assert response.status_code == 404


async def test_wechat_login_without_credentials_says_so(
    database_url: str, wechat: FakeWeChat
) -> None:
    settings = make_settings(database_url, wechat_app_id="", wechat_app_secret="")
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/api/v1/auth/wechat/login", json={"code": "c1"})
    assert response.status_code == 503
    assert response.json()["code"] == "wechat_not_configured"
    assert wechat.calls["jscode2session"] == 0


@pytest.mark.parametrize(
    ("env", "docs_in_prod", "served"),
    [("dev", False, True), ("prod", False, False), ("prod", True, True)],
)
async def test_api_docs_are_off_in_prod_unless_enabled(
    database_url: str, wechat: FakeWeChat, env: str, docs_in_prod: bool, served: bool
) -> None:
    settings = make_settings(database_url, env=env, data_key=STRONG, docs_in_prod=docs_in_prod)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = [await client.get(path) for path in ("/docs", "/redoc", "/openapi.json")]
    assert [answer.status_code for answer in answers] == [200 if served else 404] * 3


def test_migrations_run_with_their_own_database_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`alembic upgrade head` (the image's pre-start step) uses MIGRATION_DATABASE_URL."""
    assert Settings(database_url="sqlite://").migrations_url == "sqlite://"
    owner, app = tmp_path / "owner.db", tmp_path / "app.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{app}")
    monkeypatch.setenv("MIGRATION_DATABASE_URL", f"sqlite+aiosqlite:///{owner}")
    get_settings.cache_clear()
    try:
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["configure_logging"] = False
        command.upgrade(config, "head")
    finally:
        get_settings.cache_clear()
    assert owner.exists()
    assert not app.exists()


@pytest.mark.parametrize(("nice", "applied"), [(None, [10]), (0, []), (15, [15])])
def test_the_worker_lowers_its_cpu_priority_below_the_apis(
    monkeypatch: pytest.MonkeyPatch, nice: int | None, applied: list[int]
) -> None:
    """`python -m api.worker` runs at `WORKER_NICE` (10 unless set; 0: the API's priority)."""
    settings = Settings(env="dev", database_url="sqlite+aiosqlite:///:memory:")
    if nice is not None:
        settings = settings.model_copy(update={"worker_nice": nice})
    calls: list[int] = []
    served: list[Settings] = []

    async def serve(given: Settings, _stop: asyncio.Event) -> None:
        served.append(given)

    monkeypatch.setattr(worker, "get_settings", lambda: settings)
    monkeypatch.setattr(logs, "configure", lambda *_args: None)  # the suite's own logging
    monkeypatch.setattr("os.nice", calls.append)
    monkeypatch.setattr(worker, "serve", serve)
    worker.main()
    assert calls == applied
    assert served == [settings]
