"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="进程存活")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="可以接收请求（数据库可达）")
async def readyz(request: Request) -> dict[str, str]:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable("数据库暂不可用", detail={"database": "unreachable"}) from exc
    return {"status": "ok", "database": "ok"}
