"""Rate-limit counters: one row per limited key (client address, WeChat account, ticket)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column


class RateCounter(SQLModel, table=True):
    """Attempts counted under `key` in the window that ends at `resets_at` (a fixed window
    opened by the first attempt after the last one ended)."""

    __tablename__ = "rate_counter"
    # Counters whose window has ended are deleted by it.
    __table_args__ = (sa.Index("ix_rate_counter_resets_at", "resets_at"),)

    key: str = Field(sa_type=sa.String(128), primary_key=True)
    hits: int
    resets_at: datetime = Field(sa_column=utc_column())
