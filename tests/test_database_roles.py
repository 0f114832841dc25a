"""The service runs as a PostgreSQL role that owns nothing; migrations run as the owner.

In a database of its own, the test creates both roles with `pioneer db-roles`, migrates as the
owner, serves the app as the app role, and then tries what a compromised service would.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from alembic import command
from api import cli
from api.config import get_settings
from api.db import create_engine
from tests.conftest import PG_URL, Org, alembic_config
from tests.workflow import attach, shanghai_today

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL roles: the PostgreSQL pass")


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str
    owner_url: str
    app_url: str


async def _as(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run statements one by one (each commits); the rows of the last."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.fixture
def roles() -> Iterator[Roles]:
    suffix = secrets.token_hex(4)
    database, owner, app = (f"pioneer_{kind}_{suffix}" for kind in ("roles", "owner", "app"))
    admin = make_url(PG_URL).set(database=database)
    asyncio.run(_as(PG_URL, f"CREATE DATABASE {database}"))
    try:
        found = Roles(
            owner,
            app,
            admin.set(username=owner, password="owner-secret").render_as_string(False),
            admin.set(username=app, password="app-secret").render_as_string(False),
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", found.app_url)
            patch.setenv("MIGRATION_DATABASE_URL", found.owner_url)
            get_settings.cache_clear()
            assert cli.main(["db-roles", "--admin-url", admin.render_as_string(False)]) == 0
        get_settings.cache_clear()
        command.upgrade(alembic_config(found.owner_url), "head")
        yield found
    finally:
        get_settings.cache_clear()
        asyncio.run(
            _as(
                PG_URL,
                f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
                f"DROP ROLE IF EXISTS {owner}",
                f"DROP ROLE IF EXISTS {app}",
            )
        )


@pytest.fixture
async def database_url(roles: Roles) -> AsyncIterator[str]:
    """The app, its sessions and the `org` world all connect as the app role."""
    yield roles.app_url


async def _refused(url: str, statement: str) -> str:
    try:
        await _as(url, statement)
    except DBAPIError as error:
        return str(error.orig)
    raise AssertionError(f"not refused: {statement}")


async def test_the_service_works_as_a_role_that_may_not_alter_or_truncate(
    client: httpx.AsyncClient, org: Org, roles: Roles
) -> None:
    await attach(client, org, "nitun")
    member = org.id("member_a1")
    created = await client.post(
        f"/api/v1/members/{member}/adjustments",
        json={
            "item_code": "suggestion_adopted",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "建议",
        },
        headers=org.headers("admin"),
    )
    assert created.status_code == 201, created.text
    ledger = await client.get(f"/api/v1/members/{member}/entries", headers=org.headers("admin"))
    assert [entry["id"] for entry in ledger.json()["items"]] == [created.json()["id"]]

    assert await _as(
        roles.app_url,
        "SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
        "(SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole)",
    ) == [(roles.app, False, 0)]
    refusals = {
        "TRUNCATE score_entry": "permission denied for table score_entry",
        "ALTER TABLE score_entry ADD COLUMN forged integer": "must be owner of table score_entry",
        "ALTER TABLE score_entry DISABLE TRIGGER USER": "must be owner of table score_entry",
        "DROP TABLE score_entry": "must be owner of table score_entry",
        "UPDATE score_entry SET points = 99": "score_entry is append-only: UPDATE refused",
        "DELETE FROM score_entry": "score_entry is append-only: DELETE refused",
        "CREATE TABLE forged (id integer)": "permission denied for schema public",
    }
    for statement, reason in refusals.items():
        assert reason in await _refused(roles.app_url, statement), statement
    assert await _as(roles.app_url, "SELECT count(*), sum(points) FROM score_entry") == [
        (1, Decimal(created.json()["points"]))
    ]


async def test_tables_of_later_migrations_are_granted_to_the_app_role(roles: Roles) -> None:
    await _as(roles.owner_url, "CREATE TABLE added_later (id serial PRIMARY KEY, n integer)")
    rows = await _as(
        roles.app_url,
        "INSERT INTO added_later (n) VALUES (1)",
        "UPDATE added_later SET n = 2",
        "SELECT id, n FROM added_later",
    )
    assert rows == [(1, 2)]
    assert "permission denied" in await _refused(roles.app_url, "TRUNCATE added_later")
    assert "must be owner" in await _refused(roles.app_url, "DROP TABLE added_later")
