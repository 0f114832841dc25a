"""Alembic environment: async engine, the app's metadata, a lock timeout on PostgreSQL."""

import asyncio
from logging.config import fileConfig

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import api.models  # noqa: F401 - registers every table on the metadata
from alembic import context
from api.config import get_settings
from api.db import create_engine, is_sqlite

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata
LOCK_TIMEOUT = "5s"


def database_url() -> str:
    """A caller's URL, else the migrations' own (the tables' owner), else the app's."""
    return config.get_main_option("sqlalchemy.url") or get_settings().migrations_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(database_url()),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    if sqlite:
        # A batch migration rebuilds a table (copy, drop, rename), and SQLite refuses to drop a
        # table that other rows refer to: foreign keys are off while migrating (the pragma acts
        # only outside a transaction, so here) and checked once at the end instead.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
