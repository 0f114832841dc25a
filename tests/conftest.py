"""Test harness: the schema comes from `alembic upgrade head`; each test gets a clean database.

SQLite (default): the migrated template file is copied for every test.
PostgreSQL (`TEST_DATABASE_URL`, as a superuser): the database is migrated once and emptied
before every test (its rows deleted with the ledger's triggers off, its sequences restarted).
An unreachable PostgreSQL fails the run; it is never skipped.
"""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import pytest
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel
from typer.testing import CliRunner, Result

from alembic import command
from api import cli
from api.config import Settings, get_settings
from api.db import create_engine
from api.main import create_app
from api.models import (
    LoginSession,
    Member,
    OrgUnit,
    PoliticalStatus,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.security import issue_jwt
from api.services.org import add_unit
from tests import declared
from tests.fakes.wechat import APP_ID, APP_SECRET, FakeWeChat

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
WECHAT_BASE = "http://wechat.test"


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


async def _check_reachable(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        try:
            asyncio.run(_check_reachable(PG_URL))
        except Exception as exc:
            raise RuntimeError(f"TEST_DATABASE_URL is set but unreachable: {exc}") from exc
        command.upgrade(alembic_config(PG_URL), "head")
        return PG_URL
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'template.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture
async def database_url(template_url: str, tmp_path: Path) -> str:
    if PG_URL:
        engine = create_engine(PG_URL)
        async with engine.begin() as connection:
            # Each test starts from empty tables and identities starting at 1, as a copy of the
            # SQLite template does. DELETE, not TRUNCATE: a TRUNCATE of every table gives each a
            # new file (half a second a test, minutes over the suite), a DELETE of a test's few
            # rows takes milliseconds. In replica mode no ordinary trigger fires (neither the
            # append-only tables' refusals nor the foreign keys'), and only a superuser may set
            # it: never the service's role, nor the tables' owner.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text("SET LOCAL synchronous_commit = off"))
            for table in SQLModel.metadata.sorted_tables:
                await connection.execute(text(f'DELETE FROM "{table.name}"'))
            await connection.execute(
                text(
                    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
                    " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
                )
            )
        await engine.dispose()
        return PG_URL
    source = Path(template_url.removeprefix("sqlite+aiosqlite:///"))
    target = tmp_path / "test.db"
    shutil.copyfile(source, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def wechat() -> FakeWeChat:
    return FakeWeChat()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "dev",
        "database_url": database_url,
        "jwt_secret": "test-secret-that-is-long-enough-for-prod-0123456789",
        "wechat_app_id": APP_ID,
        "wechat_app_secret": APP_SECRET,
        "wechat_api_base": WECHAT_BASE,
        "wechat_retry_backoff_seconds": 0,
        # No worker runs beside the app in a test: /readyz checks its heartbeat only where a
        # test says so.
        "worker_stale_seconds": 0,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, photo_dir=str(tmp_path / "photos"))


@pytest.fixture
async def app(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[FastAPI]:
    async with running_app(settings, wechat) as application:
        yield application


class running_app:
    """The app with its lifespan running, its WeChat calls wired to the fake."""

    def __init__(self, settings: Settings, wechat: FakeWeChat) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app()))
        self.app = create_app(settings, http=self.http)
        self._lifespan = self.app.router.lifespan_context(self.app)

    async def __aenter__(self) -> FastAPI:
        await self._lifespan.__aenter__()
        return self.app

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._lifespan.__aexit__(kind, error, trace)
        await self.http.aclose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [declared.response_hook(app)]}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks=hooks
    ) as http:
        yield http


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@dataclass
class Org:
    """Two towns; town A has branches A (groups A1, A2) and B (group B1)."""

    settings: Settings
    units: dict[str, OrgUnit] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    logins: dict[str, int] = field(default_factory=dict)

    async def sign_in(self, session: AsyncSession, key: str, member: Member) -> None:
        """Name a flushed member `key` and give them a login for `headers`."""
        login = LoginSession(
            member_id=id_of(member), expires_at=utcnow() + self.settings.session_max_age
        )
        session.add(login)
        await session.flush()
        self.members[key] = member
        self.logins[key] = id_of(login)

    def id(self, name: str) -> int:
        member = self.members[name]
        assert member.id is not None
        return member.id

    def unit_id(self, name: str) -> int:
        unit = self.units[name]
        assert unit.id is not None
        return unit.id

    def headers(self, name: str) -> dict[str, str]:
        token = issue_jwt(
            self.settings.jwt_secret.get_secret_value(),
            str(self.id(name)),
            "access",
            self.settings.access_token_ttl,
            session_id=self.logins[name],
        )
        return {"Authorization": f"Bearer {token.token}"}


ORG_UNITS = (
    ("town", UnitKind.committee, None),
    ("branch_a", UnitKind.branch, "town"),
    ("group_a1", UnitKind.group, "branch_a"),
    ("group_a2", UnitKind.group, "branch_a"),
    ("branch_b", UnitKind.branch, "town"),
    ("group_b1", UnitKind.group, "branch_b"),
    ("town2", UnitKind.committee, None),
    ("branch_c", UnitKind.branch, "town2"),
)
ORG_PEOPLE = (
    # key, unit, phone, role held at that unit
    ("admin", "town", "13900000001", Role.committee_admin),
    ("secretary_a", "branch_a", "13900000002", Role.branch_secretary),
    ("committee_a", "branch_a", "13900000003", Role.branch_committee),
    ("leader_a1", "group_a1", "13900000004", Role.group_leader),
    ("member_a1", "group_a1", "13900000005", None),
    ("member_a1b", "group_a1", "13900000006", None),
    ("leader_a2", "group_a2", "13900000007", Role.group_leader),
    ("member_a2", "group_a2", "13900000008", None),
    ("secretary_b", "branch_b", "13900000009", Role.branch_secretary),
    ("member_b1", "group_b1", "13900000010", None),
    ("admin2", "town2", "13900000011", Role.committee_admin),
    ("member_c", "branch_c", "13900000012", None),
)
UNIT_NAMES = {
    "town": "甲镇党委",
    "branch_a": "甲村党支部",
    "group_a1": "甲村第一党小组",
    "group_a2": "甲村第二党小组",
    "branch_b": "乙村党支部",
    "group_b1": "乙村第一党小组",
    "town2": "丙镇党委",
    "branch_c": "丙村党支部",
}


@pytest.fixture
async def org(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Org:
    world = Org(settings)
    async with sessionmaker() as session:
        for key, kind, parent in ORG_UNITS:
            parent_unit = world.units[parent] if parent else None
            world.units[key] = await add_unit(session, kind, UNIT_NAMES[key], parent_unit)
        for key, unit, phone, role in ORG_PEOPLE:
            member = Member(
                name=key,
                phone=phone,
                unit_id=world.unit_id(unit),
                political_status=PoliticalStatus.FULL,
                category="B",
            )
            session.add(member)
            await session.flush()
            await world.sign_in(session, key, member)
            if role is not None:
                session.add(
                    RoleAssignment(member_id=id_of(member), unit_id=world.unit_id(unit), role=role)
                )
        await session.commit()
    return world


class Pioneer:
    """`pioneer ARGS` run in-process (Typer's runner), as an operator runs it; off the event
    loop, since the command runs one of its own."""

    async def __call__(self, *args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args))


@pytest.fixture
def pioneer(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pioneer]:
    """The command line, on the test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.delenv("PIONEER_AS", raising=False)
    get_settings.cache_clear()
    yield Pioneer()
    get_settings.cache_clear()


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"


FELL_BACK = "read by the driver failed"


@pytest.fixture(autouse=True)
def reads_stay_on_the_driver(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A `Read` that had to go through SQLAlchemy again answers right, but at twice the cost:
    outside the test of that fallback, a test that makes one fails."""
    yield
    assert FELL_BACK not in caplog.text, "a Read fell back to SQLAlchemy"
