"""Liveness and readiness probes."""

from fastapi import APIRouter, Request

from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.errors import NotFound
from api.services import health as service

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
    return {"id": await service.probe(session, principal)}


@router.get("/readyz", summary="可以接收请求（数据库可达）")
async def readyz(request: Request) -> dict[str, str]:
    await service.require_database(request.app.state.engine)
    return {"status": "ok", "database": "ok"}
