"""The contract is typed where a screen reads it (issue 18, items 1–2): no answer carries an
untyped object, every status, kind, role, step, channel and tier code is an enum with its
Chinese names, and a notice's data has one shape per notice kind."""

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import msgspec
import pytest

from api.models import NoticeKind
from api.openapi import document
from api.schemas.periods import BoardResultOut, SubjectResultOut
from api.scoring import SubjectResult
from api.services.periods import BoardResult

Schema = dict[str, Any]

ENUM_LIKE = re.compile(
    r"^(status|kind|role|step|channel|tier)$"
    r"|_(status|kind|role|step|channel|tier)$"
    r"|^(statuses|kinds|roles|steps|channels|tiers)$"
)

# Codes a scheme defines, so that no enum can list them: each is documented where it appears.
SCHEME_CODES = {
    # 档次: a scheme's `tiering.tiers` codes (their names beside them, as tier_label).
    ("ResultOut", "tier"),
    ("SubjectResultOut", "tier"),
    ("BoardResultOut", "tier"),
    ("PeriodResultData", "tier"),
    ("Band", "tier"),
    ("TierRule", "tier"),
    ("Tiering", "veto_tier"),
    # The monthly notice's tier is the tier's name (what a WeChat template shows).
    ("MonthlyScoreData", "tier"),
    # Meeting kinds: the built-in ones or a scheme's own (`MEETING_KIND`).
    ("MeetingIn", "kind"),
    ("MeetingPlanIn", "kind"),
    ("MeetingChangeIn", "kind"),
    ("MeetingOut", "kind"),
    ("AttendanceRecordOut", "kind"),
    # A meeting notice's `kind` is the meeting kind's name as announced (templates name it).
    ("MeetingData", "kind"),
    ("MeetingCancelledData", "kind"),
    ("LeaveRequestedData", "kind"),
    ("LeaveResultData", "kind"),
}

# Names that match the pattern but are free text: how to object to a board (a sentence).
FREE_TEXT = {("BoardOut", "objection_channel")}

# Objects whose keys are open by design.
FREE_FORM = {
    # An audit record's data differs per audited act (`AuditAction`).
    ("AuditOut", "data"),
}


@cache
def _schemas() -> dict[str, Schema]:
    components: dict[str, Schema] = document()["components"]["schemas"]
    return components


def _ref(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def _children(schema: Schema) -> Iterator[Schema]:
    for key in ("anyOf", "oneOf", "allOf"):
        yield from schema.get(key, [])
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield schema[key]
    yield from schema.get("properties", {}).values()
    yield from schema.get("patternProperties", {}).values()


def _answered() -> set[str]:
    """The component schemas some response carries, directly or nested."""
    found: set[str] = set()
    pending: list[Schema] = [
        media["schema"]
        for operations in document()["paths"].values()
        for operation in operations.values()
        for response in operation.get("responses", {}).values()
        for media in response.get("content", {}).values()
        if "schema" in media
    ]
    while pending:
        schema = pending.pop()
        name = _ref(schema)
        if name is not None:
            if name not in found:
                found.add(name)
                pending.append(_schemas()[name])
            continue
        pending.extend(_children(schema))
    return found


def _untyped(schema: Schema) -> bool:
    return (
        schema.get("type") == "object"
        and "properties" not in schema
        and "patternProperties" not in schema
        and schema.get("additionalProperties", True) in (True, {})
    )


def _plain_strings(schema: Schema) -> bool:
    """A string that is neither an enum nor a constant (nor a reference to one)."""
    if "$ref" in schema or "enum" in schema or "const" in schema:
        return False
    options: list[Schema] = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    if options:
        return any(_plain_strings(option) for option in options)
    if schema.get("type") == "array":
        return _plain_strings(schema.get("items", {}))
    return schema.get("type") == "string"


def _enum_of(schema: Schema) -> list[str]:
    """The values of the enum a property is (or is a list or an optional of)."""
    name = _ref(schema)
    if name is not None:
        return [str(v) for v in _schemas()[name].get("enum", [])]
    values = [str(v) for v in schema.get("enum", [])]
    for child in _children(schema):
        values += _enum_of(child)
    return values


def test_no_answer_carries_an_untyped_object() -> None:
    untyped = []
    for name in sorted(_answered()):
        schema = _schemas()[name]
        if _untyped(schema):
            untyped.append(name)
        for field, prop in schema.get("properties", {}).items():
            nested = [prop, *_children(prop)]
            if (name, field) not in FREE_FORM and any(_untyped(s) for s in nested):
                untyped.append(f"{name}.{field}")
    assert untyped == []


def test_every_status_kind_role_step_channel_and_tier_is_an_enum() -> None:
    plain = [
        f"{name}.{field}"
        for name, schema in sorted(_schemas().items())
        for field, prop in schema.get("properties", {}).items()
        if ENUM_LIKE.search(field)
        and _plain_strings(prop)
        and (name, field) not in SCHEME_CODES | FREE_TEXT
    ]
    assert plain == []


def test_every_enum_an_answer_carries_names_its_values_in_chinese() -> None:
    unnamed = []
    for name in sorted(_answered()):
        for field, prop in _schemas()[name].get("properties", {}).items():
            values = _enum_of(prop)
            if not ENUM_LIKE.search(field) or not values or "const" in prop:
                continue
            described = prop.get("description", "")
            if not re.search(r"[\u4e00-\u9fff]", described) or any(
                value not in described for value in values if value
            ):
                unnamed.append(f"{name}.{field}")
    assert unnamed == []


def test_a_notices_data_has_one_shape_per_notice_kind() -> None:
    notice = _schemas()["NoticeOut"]
    assert notice["discriminator"]["propertyName"] == "kind"
    mapping = notice["discriminator"]["mapping"]
    assert set(mapping) == {kind.value for kind in NoticeKind}
    assert len(notice["oneOf"]) == len(NoticeKind)
    for kind, ref in mapping.items():
        variant = _schemas()[ref.rsplit("/", 1)[1]]
        assert variant["properties"]["kind"]["const"] == kind
        data = _schemas()[_ref(variant["properties"]["data"]) or ""]
        assert data["properties"], kind


@pytest.mark.parametrize(
    ("struct", "model"),
    [(SubjectResult, SubjectResultOut), (BoardResult, BoardResultOut)],
)
def test_result_schemas_have_the_fields_of_the_results_they_show(
    struct: type[msgspec.Struct], model: type[Any]
) -> None:
    assert list(model.model_fields) == list(struct.__struct_fields__)


def test_the_live_score_and_results_carry_a_typed_derivation() -> None:
    live = _schemas()["LiveScoreOut"]["properties"]["result"]
    assert _ref(live) == "SubjectResultOut"
    derivation = _schemas()["SubjectResultOut"]["properties"]["derivation"]
    assert _ref(derivation["items"]) == "DerivationStepOut"
    shown = _schemas()["ResultOut"]["properties"]["result"]
    assert {_ref(s) for s in shown["anyOf"]} == {"SubjectResultOut", "BoardResultOut"}
    assert _ref(_schemas()["SchemeOut"]["properties"]["definition"]) == "Scheme"
