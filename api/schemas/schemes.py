"""Scheme shapes."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from api.schemas.values import Timestamp
from api.scoring.scheme import PeriodLength, Scheme, SubjectKind

# A definition is read as a dict and validated by the service (`parse_scheme`), which names
# each problem's field in its error; its documented shape is the scheme model's, which every
# scheme answer carries (and so puts among the components).
SchemeDefinition = Annotated[
    dict[str, Any], WithJsonSchema({"$ref": "#/components/schemas/Scheme"})
]


class SchemeIn(BaseModel):
    """A preset by slug, or a full definition (see `api.scoring.scheme.Scheme`)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(default=None, description="预设方案，如 nitun、heyang")
    definition: SchemeDefinition | None = Field(
        default=None, max_length=64, description="完整的方案定义"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "SchemeIn":
        if (self.preset is None) == (self.definition is None):
            raise ValueError("方案预设与方案定义须且只能给出一个")
        return self


SUBJECT_KIND = "考核对象：member 党员；branch 支部"


class SchemeOut(BaseModel):
    id: int
    unit_id: int
    subject_kind: SubjectKind = Field(description=SUBJECT_KIND)
    version: int
    created_at: Timestamp
    definition: Scheme = Field(description="方案定义（本版本）")


class SchemeVersionOut(BaseModel):
    version: int
    created_at: Timestamp
    created_by: str | None = Field(description="采用该版本的人（姓名）；系统预置为空")
    definition: Scheme = Field(description="方案定义（该版本）")


class PresetOut(BaseModel):
    slug: str
    name: str
    subject_kind: SubjectKind = Field(description=SUBJECT_KIND)
    period: PeriodLength = Field(description="考核周期")
