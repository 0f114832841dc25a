"""What every command shares: the database, the operator it acts as, refusals and exit codes.

Exit codes: 0 done; 1 refused by a rule of the service (its Chinese message on stderr, with its
detail); 2 a usage error (a missing or malformed option, a value the API would refuse as a
request). A command that changes data runs in one transaction, committed only if it succeeds.
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import track
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.access import Principal
from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker
from api.errors import AppError, ValidationFailed
from api.services import auth, members
from api.validation import describe, summary

REFUSED, USAGE = 1, 2
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Maker = async_sessionmaker[AsyncSession]
PHONE = re.compile(r"^1[3-9]\d{9}$")

Operator = Annotated[
    str,
    typer.Option(
        "--as",
        envvar="PIONEER_AS",
        help="以该手机号的党员身份操作：按其职务和管辖范围检查，与其在小程序中操作相同",
        show_default=False,
    ),
]


def run(work: Callable[[Maker, Settings], Awaitable[T]]) -> T:
    """`work` against the configured database; a refusal of the service exits 1."""
    settings = get_settings()
    try:
        return asyncio.run(_with_database(settings, work))
    except AppError as error:
        refuse(error)


async def _with_database(settings: Settings, work: Callable[[Maker, Settings], Awaitable[T]]) -> T:
    engine = create_engine(settings.database_url)
    try:
        return await work(create_sessionmaker(engine), settings)
    finally:
        await engine.dispose()


def as_operator(phone: str, work: Callable[[AsyncSession, Principal, Settings], Awaitable[T]]) -> T:
    """`work` in one transaction as the member with this phone, committed if it succeeds."""

    async def transaction(maker: Maker, settings: Settings) -> T:
        async with maker() as session:
            principal = await auth.operator(session, phone)
            done = await work(session, principal, settings)
            await session.commit()
            return done

    return run(transaction)


def refuse(error: AppError) -> NoReturn:
    typer.echo(error.text, err=True)
    if error.detail is not None:
        typer.echo(json.dumps(error.detail, ensure_ascii=False, default=str), err=True)
    raise typer.Exit(REFUSED)


def checked(model: type[M], **values: Any) -> M:
    """Values checked as the API checks the same request; a problem is a usage error."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = summary([describe(error) for error in exc.errors()])
        typer.echo(ValidationFailed(problems=problems).text, err=True)
        raise typer.Exit(USAGE) from exc


MemberRef = int | str  # a member's id, or their phone number


def member_ref(value: str) -> MemberRef:
    """A member named on the command line: an 11-digit phone number, else an id."""
    text = value.strip()
    if PHONE.match(text):
        return text
    if text.isdigit():
        return int(text)
    typer.echo(f"「{value}」不是党员编号或手机号", err=True)
    raise typer.Exit(USAGE)


async def member_id(session: AsyncSession, ref: MemberRef) -> int:
    return ref if isinstance(ref, int) else await members.id_of_phone(session, ref)


def progress(items: Iterable[T], description: str, total: int) -> Iterable[T]:
    """A progress bar on stderr (shown on a terminal only), stdout left to the results."""
    return track(items, description=description, total=total, console=Console(stderr=True))
