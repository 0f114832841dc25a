"""Liveness and readiness probes, and the Prometheus metrics."""

from fastapi import Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api import metrics
from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.errors import NotFound
from api.models import utcnow
from api.routers import DomainRouter
from api.services import health as service
from api.services import heartbeat

router = DomainRouter(tags=["运行状态"])


@router.get(
    "/healthz",
    summary="进程存活",
    description="进程在运行即返回 ok，不访问数据库；供容器的存活检查使用。",
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/api/v1/probe",
    summary="基准探针：一次索引读取和一次写入（仅压测时开启）",
    description="压测基线：与普通接口一样须登录，读取一次索引并写入一行。只在配置开启压测探针时可用。",
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


@router.get(
    "/readyz",
    summary="可以接收请求（数据库可达，后台工作进程在运行）",
    description=(
        "数据库可达且后台工作进程在规定时间内循环过，才返回 200；否则返回 503，负载均衡应暂停转发。"
    ),
)
async def readyz(request: Request, settings: SettingsDep) -> dict[str, str | None]:
    newest = await service.newest_heartbeat(request.app.state.engine)
    return {
        "status": "ok",
        "database": "ok",
        "worker": heartbeat.check(settings, newest, utcnow()),
        "worker_last_loop_at": newest.isoformat() if newest else None,
    }


@router.get(
    "/metrics",
    summary="Prometheus 指标（配置 METRICS_TOKEN 时凭令牌读取）",
    description=(
        "本进程的计数器、连接池，以及抓取时读取的消息发件箱与心跳。"
        "配置 METRICS_TOKEN 时须带该令牌，否则返回 404。"
    ),
    response_class=PlainTextResponse,
)
async def prometheus_metrics(request: Request, settings: SettingsDep) -> PlainTextResponse:
    """This process's counters, its pool, and the outboxes and heartbeat read at the scrape.
    The token is read from the header directly: it is no request field of the API."""
    if not metrics.allowed(settings, request.headers.get("Authorization")):
        raise NotFound()
    engine = request.app.state.engine
    state = await service.database_state(engine)
    families = [*metrics.pool_families(engine.pool), *metrics.database_families(state, utcnow())]
    return PlainTextResponse(metrics.render(metrics.API, families), media_type=CONTENT_TYPE_LATEST)
