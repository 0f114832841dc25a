"""Scheme shapes."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.values import Timestamp


class SchemeIn(BaseModel):
    """A preset by slug, or a full definition (see `api.scoring.scheme.Scheme`)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(default=None, description="预设方案，如 nitun、heyang")
    definition: dict[str, Any] | None = Field(
        default=None, max_length=64, description="完整的方案定义"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "SchemeIn":
        if (self.preset is None) == (self.definition is None):
            raise ValueError("方案预设与方案定义须且只能给出一个")
        return self


class SchemeOut(BaseModel):
    id: int
    unit_id: int
    subject_kind: str
    version: int
    created_at: Timestamp
    definition: dict[str, Any]


class PresetOut(BaseModel):
    slug: str
    name: str
    subject_kind: str
    period: str
