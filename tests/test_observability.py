"""Observability: JSON log lines with the request's id and no secret, the request id in
answers and error bodies, Prometheus metrics (requests, outboxes, the worker's counters), and
readiness from the worker's heartbeat."""

import asyncio
import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import logs, metrics
from api.config import Settings
from api.models import WeChatAccount, utcnow
from api.services import heartbeat
from api.services.delivery import Senders, run_once
from api.wechat.client import WeChatClient
from api.worker import Job, Worker, serve
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import APP_SECRET, HTTP_502, FakeWeChat
from tests.test_delivery import CALLBACK_TOKEN, accept, deduct
from tests.workflow import attach, decide, file_claim, photo

Maker = async_sessionmaker[AsyncSession]
DATA_KEY = "observability-data-key-0123456789abcdef"
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        photo_dir=str(tmp_path / "photos"),
        wechat_callback_token=CALLBACK_TOKEN,
        data_key=DATA_KEY,
    )


@pytest.fixture
async def senders(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[Senders]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield Senders(WeChatClient(settings, http), None)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record, at DEBUG, rendered by the formatter the processes use."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logs.formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield written
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _template(client: httpx.AsyncClient, org: Org, kind: str, fields: dict[str, str]) -> None:
    response = await client.put(
        f"/api/v1/notice-templates/{kind}/subscribe",
        json={"template_id": f"T-{kind}", "page": "pages/notice", "fields": fields},
        headers=org.headers("admin"),
    )
    assert response.status_code == 200, response.text


async def test_every_log_line_of_a_full_flow_is_json_with_a_request_id_and_no_secret(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    sessionmaker: Maker,
    senders: Senders,
    wechat: FakeWeChat,
    json_lines: io.StringIO,
) -> None:
    await attach(client, org, "lutou")
    await _template(client, org, "claim_result", {"number1": "points"})
    answered: list[httpx.Response] = []

    # Login and bind through WeChat, the caller naming its request.
    wechat.add_login("code-1", "o-a1")
    login = await client.post(
        "/api/v1/auth/wechat/login", json={"code": "code-1"}, headers={"X-Request-ID": "flow-1"}
    )
    wechat.add_phone("phone-1", "13900000005")
    bound = await client.post(
        "/api/v1/auth/bind/phone",
        json={"binding_ticket": login.json()["binding_ticket"], "phone_code": "phone-1"},
    )
    assert bound.status_code == 200, bound.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {bound.json()['access_token']}"}
    )
    assert (await accept(client, "o-a1", "T-claim_result", 1700000001)).text == "success"

    # A claim, approved through its chain, and its notice delivered by the worker's loop.
    pic = await photo(sessionmaker, org, "member_a1", "observed")
    claim = await file_claim(client, org, "member_a1", "key-observed", [pic])
    assert claim.status_code == 201, claim.text
    decisions = [
        await decide(client, org, who, claim.json()["id"]) for who in ("leader_a1", "secretary_a")
    ]
    answered += [login, bound, me, claim, *decisions]
    assert all(response.status_code < 300 for response in answered)
    worker = Worker(
        sessionmaker, [Job("deliveries", 0, lambda: run_once(sessionmaker, senders, settings))]
    )
    assert await worker.tick() == 1
    assert [sent["template_id"] for sent in wechat.sent] == ["T-claim_result"]

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    # The test's own client logs its calls too, after each answer: not the service's lines.
    lines = [line for line in lines if not _of_the_test_client(line)]
    assert len(lines) > 10
    without = [line for line in lines if not line.get("request_id")]
    assert without == []
    ids = {line["request_id"] for line in lines}
    assert {response.headers["X-Request-ID"] for response in answered} <= ids
    assert login.headers["X-Request-ID"] == "flow-1"
    assert "HTTP Request" in " ".join(line["event"] for line in lines)  # WeChat calls, logged
    member = org.id("member_a1")
    by_request = {line["request_id"]: line for line in lines if line["logger"] == "api.access"}
    for response in (bound, me, claim):
        assert by_request[response.headers["X-Request-ID"]]["member_id"] == member
    assert by_request[decisions[0].headers["X-Request-ID"]]["member_id"] == org.id("leader_a1")
    [access] = [line for line in lines if line["event"].startswith("POST /api/v1/claims ")]
    assert (access["route"], access["status"]) == ("/api/v1/claims", 201)

    written = json_lines.getvalue()
    tokens = [login.json()["binding_ticket"], *bound.json().values()]
    known = [APP_SECRET, CALLBACK_TOKEN, DATA_KEY, settings.jwt_secret.get_secret_value()]
    known += [*tokens, *wechat.session_keys.values(), *wechat.valid_tokens]
    assert [secret for secret in known if isinstance(secret, str) and secret in written] == []


def _of_the_test_client(line: dict[str, object]) -> bool:
    return line["logger"] in ("httpx", "httpcore.http11") and "http://test" in str(line["event"])


async def test_a_well_formed_request_id_is_kept_and_any_other_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "req.A-1:2_3"})
    assert kept.headers["X-Request-ID"] == "req.A-1:2_3"
    assert kept.json() == {
        "code": "not_found",
        "message": "请求的内容不存在",
        "detail": None,
        "request_id": "req.A-1:2_3",
    }
    for forged in ("two words", "line\r\nbreak", "x" * 129, ""):
        replaced = await client.get("/healthz", headers={"X-Request-ID": forged})
        assert HEX_ID.fullmatch(replaced.headers["X-Request-ID"]), forged
    made = await client.get("/healthz")
    again = await client.get("/healthz")
    assert HEX_ID.fullmatch(made.headers["X-Request-ID"])
    assert made.headers["X-Request-ID"] != again.headers["X-Request-ID"]


async def test_an_unexpected_error_answers_with_its_request_id(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> str:
        raise RuntimeError("a fault of ours")

    monkeypatch.setattr(heartbeat, "check", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/readyz", headers={"X-Request-ID": "fault-1"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "fault-1"
    assert response.json()["code"] == "internal_error"
    assert response.json()["request_id"] == "fault-1"


def _value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def _worker_count(name: str, **labels: str) -> float:
    return metrics.WORKER.get_sample_value(name, labels) or 0.0


async def _scrape(client: httpx.AsyncClient) -> tuple[float, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    depth = _value(response.text, "pioneer_outbox_depth", channel="wechat")
    age = _value(response.text, "pioneer_outbox_oldest_age_seconds", channel="wechat")
    assert depth is not None and age is not None
    return depth, age


async def test_metrics_show_the_outbox_age_rising_while_wechat_is_down_and_falling_after(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    sessionmaker: Maker,
    senders: Senders,
    wechat: FakeWeChat,
) -> None:
    await attach(client, org, "heyang")
    async with sessionmaker() as session:
        session.add(WeChatAccount(openid="o-a1", session_key="k", member_id=org.id("member_a1")))
        await session.commit()
    await _template(client, org, "deduction_card", {"thing1": "item_name"})
    assert (await accept(client, "o-a1", "T-deduction_card", 1700000002)).text == "success"
    assert await _scrape(client) == (0, 0)
    retried = ("pioneer_deliveries_total", {"outcome": "pending", "errcode": ""})
    sent = ("pioneer_deliveries_total", {"outcome": "sent", "errcode": ""})
    before = [_worker_count(name, **labels) for name, labels in (retried, sent)]

    wechat.fail("subscribe_send", HTTP_502, times=3)  # WeChat is down
    await deduct(client, org)
    depth, queued = await _scrape(client)
    assert depth == 1 and queued > 0
    assert await run_once(sessionmaker, senders, settings) == 1
    await asyncio.sleep(0.05)
    depth, waited = await _scrape(client)
    assert depth == 1 and waited > queued  # still waiting, and older

    wechat.failures.clear()  # WeChat is back; the retry is due
    later = utcnow() + timedelta(minutes=10)
    assert await run_once(sessionmaker, senders, settings, now=later) == 1
    assert await _scrape(client) == (0, 0)
    after = [_worker_count(name, **labels) for name, labels in (retried, sent)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]


async def test_requests_are_counted_by_route_template_and_name_nobody(
    client: httpx.AsyncClient, org: Org
) -> None:
    member = org.id("member_a1")
    route = ("GET", "/api/v1/members/{member_id}", "200")
    labels = dict(zip(("method", "route", "status"), route, strict=True))
    before = metrics.API.get_sample_value("pioneer_http_requests_total", labels) or 0.0
    shown = await client.get(f"/api/v1/members/{member}", headers=org.headers("admin"))
    assert shown.status_code == 200, shown.text
    await client.get("/api/v1/members/13900000005/anything")
    scraped = (await client.get("/metrics")).text
    assert _value(scraped, "pioneer_http_requests_total", **labels) == before + 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (_value(scraped, "pioneer_http_requests_total", **unmatched) or 0) >= 1
    assert f"/members/{member}" not in scraped and "13900000005" not in scraped
    assert _value(scraped, "pioneer_database_up") == 1
    assert _value(scraped, "pioneer_db_pool_connections", state="checked_out") is not None


async def test_metrics_answer_only_with_the_token_and_in_prod_only_with_one(
    database_url: str, wechat: FakeWeChat
) -> None:
    token = "metrics-token-0123456789"
    cases = [
        (make_settings(database_url, metrics_token=token), {}, 404),
        (make_settings(database_url, metrics_token=token), {"Authorization": "Bearer wrong"}, 404),
        (
            make_settings(database_url, metrics_token=token),
            {"Authorization": f"Bearer {token}"},
            200,
        ),
        (make_settings(database_url, env="prod", data_key=DATA_KEY), {}, 404),
        (make_settings(database_url), {}, 200),
    ]
    for settings, headers, status in cases:
        async with running_app(settings, wechat) as application:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                response = await http.get("/metrics", headers=headers)
        assert response.status_code == status, (settings.env, headers)


async def _ready(settings: Settings, wechat: FakeWeChat) -> httpx.Response:
    async with running_app(settings, wechat) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/readyz")


async def test_readyz_is_503_until_a_worker_loops_and_once_its_heartbeat_is_stale(
    database_url: str, wechat: FakeWeChat, sessionmaker: Maker
) -> None:
    watched = make_settings(database_url, worker_stale_seconds=60)
    never = await _ready(watched, wechat)
    assert never.status_code == 503
    assert never.json()["code"] == "worker_not_running"
    assert never.json()["detail"] == {
        "worker": "never seen",
        "last_loop_at": None,
        "stale_after_seconds": 60,
    }
    started = utcnow() - timedelta(hours=1)
    await heartbeat.beat(sessionmaker, "w-1", started, utcnow() - timedelta(seconds=5))
    fresh = await _ready(watched, wechat)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["worker"] == "ok"
    await heartbeat.beat(sessionmaker, "w-1", started, utcnow() - timedelta(seconds=90))
    stale = await _ready(watched, wechat)
    assert stale.status_code == 503
    assert stale.json()["detail"]["worker"] == "stale"
    unwatched = await _ready(make_settings(database_url, worker_stale_seconds=0), wechat)
    assert unwatched.json()["worker"] == "not checked"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_worker_beats_serves_its_health_and_metrics_and_says_when_it_stops(
    settings: Settings, sessionmaker: Maker, app: FastAPI
) -> None:
    port = _free_port()
    running = settings.model_copy(update={"worker_port": port, "worker_stale_seconds": 60})
    stop = asyncio.Event()
    task = asyncio.create_task(serve(running, stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(200):
            async with sessionmaker() as session:
                beating = (await session.execute(heartbeat.NEWEST)).scalar()
            if beating is not None:
                break
            await asyncio.sleep(0.05)
        assert beating is not None
        health = await http.get("/healthz")
        scraped = await http.get("/metrics")
        stop.set()
        await asyncio.wait_for(task, 30)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert _value(scraped.text, "pioneer_worker_job_runs_total", job="live_ranks", outcome="ok")
    async with sessionmaker() as session:
        assert (await session.execute(heartbeat.NEWEST)).scalar() is None


def test_a_worker_whose_loop_is_stale_is_unhealthy_and_its_metrics_need_the_token() -> None:
    settings = make_settings("sqlite+aiosqlite://", worker_port=_free_port(), metrics_token="t")
    server = metrics.serve_worker(settings, lambda: False, pool=None)
    try:
        base = f"http://127.0.0.1:{settings.worker_port}"
        assert httpx.get(f"{base}/healthz").status_code == 503
        assert httpx.get(f"{base}/metrics").status_code == 404
        scraped = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer t"})
        assert scraped.status_code == 200 and "pioneer_worker_job_runs" in scraped.text
    finally:
        server.shutdown()
        server.server_close()
