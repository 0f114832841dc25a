"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.errors import NotFound, ServiceUnavailable
from api.models import Probe, id_of

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="进程存活")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/api/v1/probe",
    summary="基准探针：一次索引读取和一次写入（仅压测时开启）",
    status_code=201,
)
async def probe(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> dict[str, int]:
    """The load benchmark's baseline: a signed-in request like every phone request, whose only
    work is the one indexed read that identifies the member and one insert."""
    if not settings.probe_endpoint:
        raise NotFound()
    row = Probe(member_id=principal.member_id)
    session.add(row)
    await session.flush()
    return {"id": id_of(row)}


@router.get("/readyz", summary="可以接收请求（数据库可达）")
async def readyz(request: Request) -> dict[str, str]:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(detail={"database": "unreachable"}) from exc
    return {"status": "ok", "database": "ok"}
