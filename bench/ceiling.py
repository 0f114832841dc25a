"""The stack's ceiling: the probe's work as thinly as FastAPI, python-jose and asyncpg allow.

`POST /api/v1/probe` of the service verifies the member's HS256 access token, reads the member,
their unit, their login and their roles in one query, and inserts one `probe` row in the same
transaction. This app does exactly that, with nothing of the service's stack (no session, no ORM,
no principal, no middleware): what the service answers is measured against it in the same run
(`bench/ceiling_load.py`).

    DATABASE_URL=postgresql://… JWT_SECRET=… uvicorn bench.ceiling:app --workers 2
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from jose import JWTError, jwt

ALGORITHM = "HS256"
# The service's principal query, as SQLAlchemy renders it for asyncpg.
PRINCIPAL = """
SELECT member.id, member.unit_id, member.name, member.phone, member.political_status,
       member.category, member.exempt, member.status, member.joined_on, member.left_on,
       member.created_at, member.updated_at, org_unit.id AS id_1, org_unit.parent_id,
       org_unit.kind, org_unit.name AS name_1, org_unit.path, org_unit.category AS category_1,
       org_unit.created_at AS created_at_1, login_session.kind AS kind_1, role_assignment.role,
       role_assignment.unit_id AS unit_id_1, org_unit_1.path AS path_1
FROM member
JOIN org_unit ON org_unit.id = member.unit_id
JOIN login_session ON login_session.id = $1::INTEGER AND login_session.member_id = member.id
     AND login_session.revoked_at IS NULL AND login_session.expires_at > $2::TIMESTAMPTZ
LEFT OUTER JOIN role_assignment ON role_assignment.member_id = member.id
LEFT OUTER JOIN org_unit AS org_unit_1 ON org_unit_1.id = role_assignment.unit_id
WHERE member.id = $3::INTEGER
"""
INSERT = "INSERT INTO probe (member_id, created_at) VALUES ($1, $2) RETURNING probe.id"
UNAUTHORISED = JSONResponse({"code": "invalid_token"}, status_code=401)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The service's pool: 5 connections and 10 more on demand, per process.
    app.state.pool = await asyncpg.create_pool(
        _dsn(os.environ["DATABASE_URL"]), min_size=5, max_size=15
    )
    app.state.secret = os.environ["JWT_SECRET"]
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


def _identity(secret: str, authorization: str | None) -> tuple[int, int] | None:
    """The member and login of a valid access token, checked as the service checks it."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:]
    try:
        if jwt.get_unverified_header(token).get("alg") != ALGORITHM:
            return None
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require_exp": True, "require_sub": True, "require_iat": True},
        )
    except JWTError:
        return None
    subject, login = claims.get("sub"), claims.get("sid")
    if claims.get("typ") != "access" or not isinstance(subject, str) or not subject.isdigit():
        return None
    if not isinstance(login, int):
        return None
    return int(subject), login


@app.post("/api/v1/probe", status_code=201)
async def probe(request: Request) -> object:
    identity = _identity(request.app.state.secret, request.headers.get("authorization"))
    if identity is None:
        return UNAUTHORISED
    member_id, login_id = identity
    now = datetime.now(UTC)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(PRINCIPAL, login_id, now, member_id)
        if not rows or rows[0]["status"] != "active":
            return UNAUTHORISED
        probe_id = await connection.fetchval(INSERT, member_id, now)
    return {"id": probe_id}
