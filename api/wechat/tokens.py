"""The access token shared by every process through the database, sealed at rest.

`stable_token` in normal mode hands every caller the same token, so a second refresh is only
wasted quota, never a broken token; still, on PostgreSQL one process at a time refreshes (an
advisory lock), and the others read what it stored. The token is stored encrypted with
`DATA_KEY` (`api/secrets.py`): a copy of the database is no key to the WeChat account.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.config import Settings
from api.models import StoredToken, utcnow
from api.secrets import SecretUnreadable, seal, unseal

Fetch = Callable[[], Awaitable[tuple[str, int]]]
MARGIN = timedelta(minutes=5)


class TokenStore(Protocol):
    async def token(self, name: str, fetch: Fetch) -> tuple[str, datetime]: ...

    async def forget(self, name: str, token: str) -> None: ...


class DatabaseTokenStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings

    def _open(self, stored: StoredToken | None) -> str | None:
        """The stored token, or None when there is none or it no longer opens (the key was
        changed): a fresh one replaces it."""
        if stored is None or stored.expires_at - MARGIN <= utcnow():
            return None
        try:
            return unseal(self._settings, stored.token)
        except SecretUnreadable:
            return None

    async def token(self, name: str, fetch: Fetch) -> tuple[str, datetime]:
        """The stored token while it has more than a few minutes left, else a fresh one."""
        async with self._sessionmaker() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
                )
            stored = await session.get(StoredToken, name)
            if stored is not None and (token := self._open(stored)) is not None:
                return token, stored.expires_at
            token, expires_in = await fetch()
            expires_at = utcnow() + timedelta(seconds=expires_in)
            sealed = seal(self._settings, token)
            if stored is None:
                session.add(StoredToken(name=name, token=sealed, expires_at=expires_at))
            else:
                stored.token, stored.expires_at = sealed, expires_at
            await session.commit()
            return token, expires_at

    async def forget(self, name: str, token: str) -> None:
        """WeChat called `token` stale: drop it, unless another process already replaced it."""
        async with self._sessionmaker() as session:
            stored = await session.get(StoredToken, name)
            if stored is None or self._open(stored) not in (token, None):
                return
            await session.execute(
                delete(StoredToken).where(
                    col(StoredToken.name) == name, col(StoredToken.token) == stored.token
                )
            )
            await session.commit()
