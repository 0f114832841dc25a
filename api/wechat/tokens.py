"""The access token shared by every process through the database.

`stable_token` in normal mode hands every caller the same token, so a second refresh is only
wasted quota, never a broken token; still, on PostgreSQL one process at a time refreshes (an
advisory lock), and the others read what it stored.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.models import StoredToken, utcnow

Fetch = Callable[[], Awaitable[tuple[str, int]]]
MARGIN = timedelta(minutes=5)


class TokenStore(Protocol):
    async def token(self, name: str, fetch: Fetch) -> tuple[str, datetime]: ...

    async def forget(self, name: str, token: str) -> None: ...


class DatabaseTokenStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def token(self, name: str, fetch: Fetch) -> tuple[str, datetime]:
        """The stored token while it has more than a few minutes left, else a fresh one."""
        async with self._sessionmaker() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
                )
            stored = await session.get(StoredToken, name)
            if stored is not None and stored.expires_at - MARGIN > utcnow():
                return stored.token, stored.expires_at
            token, expires_in = await fetch()
            expires_at = utcnow() + timedelta(seconds=expires_in)
            if stored is None:
                session.add(StoredToken(name=name, token=token, expires_at=expires_at))
            else:
                stored.token, stored.expires_at = token, expires_at
            await session.commit()
            return token, expires_at

    async def forget(self, name: str, token: str) -> None:
        """WeChat called `token` stale: drop it, unless another process already replaced it."""
        async with self._sessionmaker() as session:
            await session.execute(
                delete(StoredToken).where(
                    col(StoredToken.name) == name, col(StoredToken.token) == token
                )
            )
            await session.commit()
