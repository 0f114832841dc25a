"""The service's two PostgreSQL roles.

The *owner* owns the schema and runs the migrations (`MIGRATION_DATABASE_URL`). The *app* role,
which the service and the worker connect as (`DATABASE_URL`), owns nothing: it reads and writes
rows but cannot alter, drop or truncate a table, so a compromised service cannot rewrite the
ledger's history in bulk, nor remove the triggers that keep it append-only. Default privileges
give the app role every table and sequence later migrations create.

`pioneer db-roles --admin-url …` runs these statements as a superuser; `--print` shows them.
"""

import re
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from api.db import create_engine

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA = "public"
# The app role's rights on every table: rows only. The append-only tables refuse UPDATE and
# DELETE to every role by their triggers; TRUNCATE, ALTER and DROP are never granted.
ROW_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
# Every object in the schema the owner does not own yet (a database the service used to reach
# as a superuser); sequences and indexes that belong to a table follow it, and an extension's
# objects stay its own.
_ADOPT = """DO $adopt$
DECLARE object record;
BEGIN
    FOR object IN
        SELECT format('ALTER %s %I.%I OWNER TO {owner}',
                      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                     WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                      n.nspname, c.relname) AS statement
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{schema}' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> '{owner}'::regrole
          AND NOT EXISTS (SELECT FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i', 'e'))
        UNION ALL
        SELECT format('ALTER FUNCTION %s OWNER TO {owner}', p.oid::regprocedure)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = '{schema}' AND p.proowner <> '{owner}'::regrole
          AND NOT EXISTS (SELECT FROM pg_depend d
                          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                            AND d.deptype = 'e')
    LOOP
        EXECUTE object.statement;
    END LOOP;
END $adopt$"""


class RoleSetupError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseLogin:
    role: str
    password: str | None

    @classmethod
    def of(cls, url: str) -> "DatabaseLogin":
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.username:
            raise RoleSetupError(f"not a PostgreSQL URL with a user: {parsed!r}")
        return cls(parsed.username, parsed.password)


def role_statements(owner: DatabaseLogin, app: DatabaseLogin) -> list[str]:
    """Create (or bring up to date) both roles and the app role's rights, in one database."""
    for login in (owner, app):
        if not ROLE_NAME.fullmatch(login.role):
            raise RoleSetupError(f"role names are lower case letters, digits and _: {login.role}")
    if owner.role == app.role:
        raise RoleSetupError("the service must not connect as the owner of the tables")
    return [
        "SET standard_conforming_strings = on",  # the passwords' quoting relies on it
        *(_create_role(login) for login in (owner, app)),
        *(_login_attributes(login) for login in (owner, app)),
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC",
        f"GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO {owner.role}",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {app.role}",
        _ADOPT.format(owner=owner.role, schema=SCHEMA),
        f"GRANT {ROW_RIGHTS} ON ALL TABLES IN SCHEMA {SCHEMA} TO {app.role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {app.role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner.role} IN SCHEMA {SCHEMA} "
        f"GRANT {ROW_RIGHTS} ON TABLES TO {app.role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner.role} IN SCHEMA {SCHEMA} "
        f"GRANT USAGE ON SEQUENCES TO {app.role}",
    ]


def _create_role(login: DatabaseLogin) -> str:
    return (
        f"DO $create$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login.role}') "
        f"THEN CREATE ROLE {login.role}; END IF; END $create$"
    )


def _login_attributes(login: DatabaseLogin) -> str:
    password = "NULL" if login.password is None else _literal(login.password)
    return (
        f"ALTER ROLE {login.role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        f"NOBYPASSRLS PASSWORD {password}"
    )


def _literal(value: str) -> str:
    if "\0" in value:
        raise RoleSetupError("a password cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


async def create_roles(admin_url: str, owner: DatabaseLogin, app: DatabaseLogin) -> None:
    """Run `role_statements` as the superuser of `admin_url`, in its database, atomically."""
    engine = create_engine(admin_url)
    try:
        async with engine.begin() as connection:
            for statement in role_statements(owner, app):
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()
