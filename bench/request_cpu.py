"""CPU per request in one process: where a signed-in request's time goes.

Runs the apps under httpx's ASGI transport, on the database `bench/ceiling_load.py` seeded and
left behind (`--database`), and prints the process's CPU time per request, the best of three
rounds of `--requests` sequential requests, for a ladder of cases: bare FastAPI; the ceiling's
probe; the service's `/healthz`; a route with the request's session only; the session and
`SELECT 1`; the signed-in principal; the service's probe; then any path given, as the demo's
member 13800000005. Each figure includes the client's share (the bare case is mostly client).

    .venv/bin/python bench/request_cpu.py /api/v1/members/5/score
"""

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
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
from bench import load  # noqa: E402
from bench.outbox import SERVER  # noqa: E402

PHONE = "13800000005"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="GET paths of the service to add")
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


async def cpu_per_request(send: Callable[[], Awaitable[httpx.Response]], count: int) -> float:
    for _ in range(20):  # warm-up: caches, prepared statements, the pool
        (await send()).raise_for_status()
    rounds = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(count):
            (await send()).raise_for_status()
        rounds.append((time.process_time() - started) / count * 1000)
    return min(rounds)


async def measure(args: argparse.Namespace, settings: Settings) -> list[tuple[str, float]]:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        member = await session.scalar(select(Member).where(col(Member.phone) == PHONE))
        assert member is not None, "seed the database with bench/ceiling_load.py first"
        pair = await auth.issue_tokens(session, settings, member)
        await session.commit()
    await engine.dispose()
    headers = {"Authorization": f"Bearer {pair.access.token}"}
    from bench import ceiling

    service = create_app(settings)
    ladder(service)
    cases = [
        ("bare FastAPI", bare(), "POST", "/api/v1/probe"),
        ("the ceiling's probe", ceiling.app, "POST", "/api/v1/probe"),
        *(
            (name, service, method, path)
            for name, method, path in (
                ("/healthz", "GET", "/healthz"),
                ("session only", "GET", "/bench/session"),
                ("session and SELECT 1", "GET", "/bench/select-one"),
                ("signed-in principal", "GET", "/bench/principal"),
                ("the service's probe", "POST", "/api/v1/probe"),
                *((path, "GET", path) for path in args.paths),
            )
        ),
    ]
    figures = []
    for name, app, method, path in cases:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

                async def send(method: str = method, path: str = path) -> httpx.Response:
                    return await http.request(method, path, headers=headers)

                figures.append((name, await cpu_per_request(send, args.requests)))
    return figures


def main() -> None:
    args = arguments()
    url = make_url(SERVER).set(database=args.database).render_as_string(hide_password=False)
    environment = load.service_env(url, "http://127.0.0.1:9")
    os.environ.update(environment)
    settings = Settings(database_url=url, jwt_secret=load.JWT_SECRET, probe_endpoint=True)
    for name, cpu in asyncio.run(measure(args, settings)):
        print(f"{cpu:6.2f} ms  {name}")


if __name__ == "__main__":
    main()
