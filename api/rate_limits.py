"""Login, binding, console ticket and upload attempts, counted per client across every API process.

The counters are rows of `rate_counter` in the service's own database, so that every process
sees the same counts with nothing else to run, on PostgreSQL and SQLite alike. A key's window
is fixed: it opens at the first attempt after the last window ended. One INSERT … ON CONFLICT
DO UPDATE … RETURNING counts the attempts and reads the counts atomically, so concurrent
attempts are never lost. It commits in a transaction of its own before the attempt runs: an
attempt that then fails (a wrong invite code) has counted, and a refused one costs one
statement.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from fastapi import Request
from sqlalchemy import case, delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.config import Settings
from api.db import insert_for
from api.errors import BindingTicketSpent, InvalidBindingTicket, RateLimited
from api.models import RateCounter, utcnow
from api.security import read_jwt

# How often a process deletes the counters whose window has ended.
PURGE_EVERY: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt against the limit `name` (a setting's name) for `subject`."""

    name: str
    subject: str
    allowed: int
    window: timedelta
    refusal: type[RateLimited] = RateLimited

    @property
    def key(self) -> str:
        return f"{self.name}:{self.subject}"


def client_address(request: Request, trusted_proxy_hops: int) -> str:
    """The client's address: the connection's, or with N proxies of ours in front, the one the
    outermost of them saw (N entries from the right of X-Forwarded-For; whatever the client
    wrote itself is to the left of it)."""
    if trusted_proxy_hops:
        forwarded = [
            part.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for part in header.split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted_proxy_hops:
            return forwarded[-trusted_proxy_hops]
    return request.client.host if request.client else "unknown"


class RateLimiter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._next_purge = datetime.min.replace(tzinfo=UTC)

    async def login(self, address: str) -> None:
        await self.count(self._per_window("login_per_address", address))

    async def login_account(self, openid: str) -> None:
        await self.count(self._per_window("login_per_account", openid))

    async def binding(self, address: str, ticket: str) -> None:
        """A binding attempt (by phone or invite code). A ticket lives for N attempts, so it
        dies after N failures; a ticket that does not verify counts against its address and is
        refused."""
        settings = self._settings
        per_address = self._per_window("bind_per_address", address)
        try:
            account = read_jwt(
                settings.jwt_secret.get_secret_value(),
                ticket,
                "bind",
                invalid=InvalidBindingTicket,
                expired=InvalidBindingTicket,
            )
        except InvalidBindingTicket:
            await self.count(per_address)
            raise
        # Keyed by what the signature covers (header and claims): the signature itself can be
        # spelled several ways in base64 that all verify.
        signed = ticket.rsplit(".", 1)[0]
        per_ticket = Attempt(
            "bind_per_ticket",
            hashlib.sha256(signed.encode()).hexdigest(),
            settings.bind_per_ticket,
            settings.binding_ticket_ttl,
            BindingTicketSpent,
        )
        await self.count(per_address, self._per_window("bind_per_account", account), per_ticket)

    async def upload(self, address: str, member_id: int) -> None:
        await self.count(
            self._per_window("uploads_per_address", address),
            self._per_window("uploads_per_member", str(member_id)),
        )

    async def console_ticket(self, address: str) -> None:
        await self.count(self._per_window("console_tickets_per_address", address))

    async def count(self, *attempts: Attempt) -> None:
        """Count each attempt; refuse with the first limit it is over (after counting)."""
        limited = sorted((a for a in attempts if a.allowed), key=lambda a: a.key)
        if not limited:
            return
        now = utcnow()
        async with self._sessionmaker() as session:
            counted = await _counted(session, limited, now)
            await self._purge(session, now)
            await session.commit()
        for attempt in limited:
            hits, resets_at = counted[attempt.key]
            if hits > attempt.allowed:
                retry_after = max(1, math.ceil((resets_at - now).total_seconds()))
                raise attempt.refusal(retry_after, limit=attempt.name)

    def _per_window(self, name: str, subject: str) -> Attempt:
        allowed: int = getattr(self._settings, name)
        return Attempt(name, subject, allowed, self._settings.rate_window)

    async def _purge(self, session: AsyncSession, now: datetime) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        await session.execute(delete(RateCounter).where(col(RateCounter.resets_at) <= now))


async def _counted(
    session: AsyncSession, attempts: list[Attempt], now: datetime
) -> dict[str, tuple[int, datetime]]:
    counter = RateCounter.__table__.c  # type: ignore[attr-defined]
    insert = insert_for(session)(RateCounter).values(
        [{"key": a.key, "hits": 1, "resets_at": now + a.window} for a in attempts]
    )
    running = counter.resets_at > now
    upsert = insert.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "hits": case((running, counter.hits + 1), else_=1),
            "resets_at": case((running, counter.resets_at), else_=insert.excluded.resets_at),
        },
    ).returning(counter.key, counter.hits, counter.resets_at)
    rows = await session.execute(upsert)
    return {key: (hits, resets_at) for key, hits, resets_at in rows}
