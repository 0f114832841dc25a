import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import select

from api.db import create_engine
from api.models import InviteCode
from tests.conftest import Org


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_openapi_documents_the_error_codes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    description = spec["info"]["description"]
    for code in ("invalid_token", "roster_invalid", "wechat_code_invalid", "member_already_bound"):
        assert f"`{code}`" in description
    assert "ErrorBody" in spec["components"]["schemas"]


async def test_unknown_route_gets_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "请求的内容不存在",
        "detail": None,
        "request_id": response.headers["X-Request-ID"],
    }


async def test_readyz_is_503_when_the_database_is_unreachable(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    working = app.state.engine
    app.state.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.engine.dispose()
        app.state.engine = working
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


async def test_a_failed_commit_is_reported_and_nothing_is_kept(
    client: httpx.AsyncClient,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    def refuse(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", refuse)
    response = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/invite-codes", headers=org.headers("secretary_a")
    )
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(InviteCode)) == 0


async def test_the_benchmark_probe_is_off_unless_enabled(
    client: httpx.AsyncClient, org: Org, app: FastAPI
) -> None:
    headers = org.headers("member_a1")
    assert (await client.post("/api/v1/probe", headers=headers)).status_code == 404
    app.state.settings = app.state.settings.model_copy(update={"probe_endpoint": True})
    assert (await client.post("/api/v1/probe", headers=headers)).status_code == 201
    assert (await client.post("/api/v1/probe")).status_code == 401
