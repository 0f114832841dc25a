"""Session keys and WeChat access tokens are stored encrypted with `DATA_KEY`, as the group
robots' webhook keys are; the rows already stored are encrypted here (and decrypted on the way
down)

A copy of the database (a backup, a dump for support) then holds no key to a member's WeChat
session or to the WeChat accounts. The migration reads `DATA_KEY` (or, in development, the JWT
secret) from the environment, like the service: run it with the service's settings.

Revision ID: 4df8216af1cb
Revises: 69b42596e03b
Create Date: 2026-12-06 09:30:00.000000+00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa

from alembic import op
from api.config import get_settings
from api.secrets import SecretUnreadable, seal, unseal

revision: str = "4df8216af1cb"
down_revision: str | Sequence[str] | None = "69b42596e03b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, key column, secret column, its width before
SECRETS = (("wechat_account", "id", "session_key", 64), ("stored_token", "name", "token", 512))


def _rewrite(table: str, key: str, column: str, change: Callable[[str], str | None]) -> None:
    """Each row's secret through `change`. One it cannot read (None: sealed with another key)
    is dropped: a session key is replaced at the member's next login, a stored token is a cache
    that `stable_token` fills again with the same token."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT {key}, {column} FROM {table}")).all()
    for row_key, value in rows:
        changed = change(value)
        if changed is None and table == "stored_token":
            connection.execute(sa.text(f"DELETE FROM {table} WHERE {key} = :key"), {"key": row_key})
            continue
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),
            {"value": changed or "", "key": row_key},
        )


def upgrade() -> None:
    for table, _key, column, width in SECRETS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=width), type_=sa.Text(), nullable=False
            )
    settings = get_settings()
    for table, key, column, _width in SECRETS:
        _rewrite(table, key, column, lambda plain: seal(settings, plain))


def downgrade() -> None:
    settings = get_settings()

    def opened(cipher: str) -> str | None:
        try:
            return unseal(settings, cipher)
        except SecretUnreadable:
            return None

    for table, key, column, _width in SECRETS:
        _rewrite(table, key, column, opened)
    for table, _key, column, width in SECRETS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=sa.String(length=width), nullable=False
            )
