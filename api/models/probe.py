"""The write probe: what the load benchmark's baseline endpoint inserts."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class Probe(SQLModel, table=True):
    """One row per baseline request (`POST /api/v1/probe/{member_id}`, off unless enabled)."""

    __tablename__ = "probe"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
