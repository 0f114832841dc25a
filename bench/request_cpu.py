"""CPU per request in one process: where a signed-in request's time goes.

Runs the apps under httpx's ASGI transport, on the database `bench/ceiling_load.py` seeded and
left behind (`--database`), and prints the process's CPU time per request, the best of three
rounds of `--requests` sequential requests, for a ladder of cases: bare FastAPI; the ceiling's
probe; the service's `/healthz`; a route with the request's session only; the session and
`SELECT 1`; the signed-in principal; the service's probe; then the cases asked for, as the
demo's member `--phone` (13800000005 by default; 13800000004 leads the group he is in). Each
figure includes the client's share (the bare case is mostly client).

Paths are GET; `--post PATH JSON` adds a POST with that body, each request with a fresh
`Idempotency-Key`. `--refresh` adds the refresh of the member's login, each request presenting
the token the one before it got; `--approve`, the approval of claims that 13800000005 files
beforehand (act as his group leader).

    .venv/bin/python bench/request_cpu.py /api/v1/members/5/score
    DAY=$(date +%F)
    .venv/bin/python bench/request_cpu.py --refresh --post /api/v1/claims \
        '{"item_code": "volunteer_service", "occurred_on": "'$DAY'", "description": "志愿服务"}'
    .venv/bin/python bench/request_cpu.py --phone 13800000004 --approve /api/v1/claims/review-inbox
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from api.db import SessionDep, create_engine, create_sessionmaker  # noqa: E402
from api.deps import CurrentPrincipal  # noqa: E402
from api.main import create_app  # noqa: E402
from api.models import Member  # noqa: E402
from api.services import auth  # noqa: E402
from api.services.ledger import today_in_shanghai  # noqa: E402
from bench import load  # noqa: E402
from bench.outbox import SERVER  # noqa: E402

CLAIMANT = "13800000005"
ROUNDS = 3
WARM_UP = 20

Send = Callable[[], Awaitable[httpx.Response]]
# How a case sends its requests, given the client of its app: prepared before the clock starts.
Prepare = Callable[[httpx.AsyncClient], Awaitable[Send]]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="GET paths of the service to add")
    parser.add_argument(
        "--post",
        nargs=2,
        action="append",
        default=[],
        metavar=("PATH", "JSON"),
        help="a POST path of the service to add, with its body",
    )
    parser.add_argument("--refresh", action="store_true", help="add the refresh of a login")
    parser.add_argument("--approve", action="store_true", help="add the approval of a claim")
    parser.add_argument("--phone", default=CLAIMANT, help="the demo member to act as")
    parser.add_argument("--database", default="pioneer_ceiling")
    parser.add_argument("--requests", type=int, default=200)
    return parser.parse_args()


def ladder(app: FastAPI) -> None:
    """Routes that stop at each layer a signed-in request goes through."""

    @app.get("/bench/session")
    async def session_only(session: SessionDep) -> dict[str, int]:
        return {"id": 1}

    @app.get("/bench/select-one")
    async def select_one(session: SessionDep) -> dict[str, int]:
        return {"id": (await session.execute(text("SELECT 1"))).scalar_one()}

    @app.get("/bench/principal")
    async def principal_only(principal: CurrentPrincipal) -> dict[str, int]:
        return {"id": principal.member_id}

    # Ahead of the console's catch-all pages.
    for _ in range(3):
        app.router.routes.insert(0, app.router.routes.pop())


def bare() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/probe")
    async def nothing() -> dict[str, int]:
        return {"id": 1}

    return app


def request(method: str, path: str, headers: dict[str, str], body: str | None = None) -> Prepare:
    """The same request every time; one with a body with a fresh `Idempotency-Key` each time."""
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}

    async def prepare(http: httpx.AsyncClient) -> Send:
        async def send() -> httpx.Response:
            if body is None:
                return await http.request(method, path, headers=headers)
            return await http.request(method, path, headers=keyed(headers), content=body)

        return send

    return prepare


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def refreshing(token: str) -> Prepare:
    """Refreshes of one login, each presenting the refresh token the one before it got."""
    latest = [token]

    async def prepare(http: httpx.AsyncClient) -> Send:
        async def send() -> httpx.Response:
            response = await http.post("/api/v1/auth/refresh", json={"refresh_token": latest[0]})
            if response.is_success:
                latest[0] = response.json()["refresh_token"]
            return response

        return send

    return prepare


def approving(claimant: dict[str, str], reviewer: dict[str, str], count: int) -> Prepare:
    """Approvals of claims the claimant files first, one claim each (of `bench/load.py`'s item,
    which the group leader approves alone)."""
    body = {
        "item_code": load.CLAIM_ITEM,
        "occurred_on": today_in_shanghai(datetime.now(UTC)).isoformat(),
        "description": "参加社区志愿服务两小时",
    }

    async def prepare(http: httpx.AsyncClient) -> Send:
        claims = []
        for _ in range(count):
            filed = await http.post("/api/v1/claims", json=body, headers=keyed(claimant))
            filed.raise_for_status()
            claims.append(filed.json()["id"])

        async def send() -> httpx.Response:
            path = f"/api/v1/claims/{claims.pop()}/decision"
            return await http.post(path, json={"decision": "approve"}, headers=reviewer)

        return send

    return prepare


async def cpu_per_request(send: Send, count: int) -> float:
    for _ in range(WARM_UP):  # caches, prepared statements, the pool
        (await send()).raise_for_status()
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(count):
            (await send()).raise_for_status()
        rounds.append((time.process_time() - started) / count * 1000)
    return min(rounds)


async def sign_in(settings: Settings, *phones: str) -> list[auth.TokenPair]:
    engine = create_engine(settings.database_url)
    pairs = []
    async with create_sessionmaker(engine)() as session:
        for phone in phones:
            member = await session.scalar(select(Member).where(col(Member.phone) == phone))
            assert member is not None, "seed the database with bench/ceiling_load.py first"
            pairs.append(await auth.issue_tokens(session, settings, member))
        await session.commit()
    await engine.dispose()
    return pairs


def bearer(pair: auth.TokenPair) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair.access.token}"}


async def measure(args: argparse.Namespace, settings: Settings) -> list[tuple[str, float]]:
    acting, claimant = await sign_in(settings, args.phone, CLAIMANT)
    headers = bearer(acting)
    from bench import ceiling

    service = create_app(settings)
    ladder(service)
    ladder_cases = (
        ("/healthz", "GET", "/healthz"),
        ("session only", "GET", "/bench/session"),
        ("session and SELECT 1", "GET", "/bench/select-one"),
        ("signed-in principal", "GET", "/bench/principal"),
        ("the service's probe", "POST", "/api/v1/probe"),
    )
    cases: list[tuple[str, FastAPI, Prepare]] = [
        ("bare FastAPI", bare(), request("POST", "/api/v1/probe", headers)),
        ("the ceiling's probe", ceiling.app, request("POST", "/api/v1/probe", headers)),
        *((name, service, request(method, path, headers)) for name, method, path in ladder_cases),
        *((path, service, request("GET", path, headers)) for path in args.paths),
        *(
            (f"POST {path}", service, request("POST", path, headers, body))
            for path, body in args.post
        ),
    ]
    if args.refresh:
        cases.append(("refresh", service, refreshing(acting.refresh.token)))
    if args.approve:
        filed = WARM_UP + ROUNDS * args.requests
        cases.append(("approve", service, approving(bearer(claimant), headers, filed)))
    figures = []
    for name, app, prepare in cases:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                figures.append((name, await cpu_per_request(await prepare(http), args.requests)))
    return figures


def main() -> None:
    args = arguments()
    url = make_url(SERVER).set(database=args.database).render_as_string(hide_password=False)
    environment = load.service_env(url, "http://127.0.0.1:9")
    os.environ.update(environment)
    # The claimant's pending claims of the item pile up run after run: no cap refuses them.
    settings = Settings(
        database_url=url,
        jwt_secret=load.JWT_SECRET,
        probe_endpoint=True,
        max_pending_claims_per_item=10**9,
    )
    for name, cpu in asyncio.run(measure(args, settings)):
        print(f"{cpu:6.2f} ms  {name}")


if __name__ == "__main__":
    main()
