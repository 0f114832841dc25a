"""What a generated client reads from the OpenAPI document beyond the shapes: each route's error
codes as literals, readable operation ids, Chinese tags, summaries and descriptions, binary
responses with their media types, and examples that match their schemas."""

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from api.contract import TAGS, XLSX, error_codes
from api.errors import error_catalogue
from api.examples import EXAMPLES
from api.main import app

DOCUMENT = app.openapi()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
CJK = re.compile(r"[\u4e00-\u9fff]")
STATUS_OF = {error.code: error.status for error in error_catalogue()}


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def codes(operation: dict[str, Any], status: int) -> list[str]:
    response = operation["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    enum: list[str] = schema["properties"]["code"]["enum"]
    return enum


def operation(route: str) -> dict[str, Any]:
    return dict(operations())[route]


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": DOCUMENT["components"]})


# --- errors -----------------------------------------------------------------------------------


def test_every_error_response_lists_literal_codes_of_its_status() -> None:
    for name, op in operations():
        errors = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        assert "4XX" not in op["responses"], name
        assert codes(op, 500) == ["internal_error"], name
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema["allOf"] == [{"$ref": "#/components/schemas/ErrorBody"}], name
            listed = schema["properties"]["code"]["enum"]
            assert listed == sorted(set(listed)), name
            assert {STATUS_OF[code] for code in listed} == {int(status)}, (name, status)
            assert all(f"`{code}`" in response["description"] for code in listed), name


def test_the_error_body_lists_every_code_of_the_api() -> None:
    assert SCHEMAS["ErrorBody"]["properties"]["code"]["enum"] == error_codes()
    assert "claim_state_conflict" in error_codes()
    assert "HTTPValidationError" not in SCHEMAS


def test_a_route_declares_what_its_service_and_dependencies_raise() -> None:
    submit = operation("POST /api/v1/claims")
    assert {"cap_reached", "idempotency_conflict", "too_many_pending_claims"} <= set(
        codes(submit, 409)
    )
    assert codes(submit, 401) == ["invalid_token", "not_authenticated", "token_expired"]
    assert {"invalid_json", "item_not_declarable"} <= set(codes(submit, 400))
    assert {"validation_error", "claim_date_outside_window"} <= set(codes(submit, 422))
    assert codes(submit, 413) == ["body_too_large"]


def test_errors_raised_behind_a_typed_value_are_followed() -> None:
    """The rate limiter's refusal is a field of its attempt, the photo store a protocol with two
    implementations, WeChat a client handed in as a dependency."""
    assert "rate_limited" in codes(operation("POST /api/v1/auth/wechat/login"), 429)
    assert "wechat_unavailable" in codes(operation("POST /api/v1/auth/wechat/login"), 503)
    assert "photo_store_unavailable" in codes(operation("GET /api/v1/photos/{photo_id}"), 503)
    assert codes(operation("POST /api/v1/photos"), 413) == ["photo_too_large"]


def test_a_route_declares_no_error_of_another_domain() -> None:
    mine = operation("GET /api/v1/claims/mine")
    assert "409" not in mine["responses"] or "claim_state_conflict" not in codes(mine, 409)
    assert "400" not in mine["responses"]
    probe = operation("GET /healthz")
    assert set(probe["responses"]) == {"200", "500", "503"}
    # Only a list scrolled by cursor can refuse one (an attribute of any `.key` once matched it).
    scrolled = {
        name
        for name, op in operations()
        if "400" in op["responses"] and "invalid_cursor" in codes(op, 400)
    }
    assert scrolled == {
        "GET /api/v1/claims/review-inbox",
        "GET /api/v1/me/notices",
        "GET /api/v1/members/{member_id}/entries",
        "GET /api/v1/members/{member_id}/notices",
    }


def test_5xx_are_documented_as_the_app_answers_them() -> None:
    for name, op in operations():
        assert "service_unavailable" in codes(op, 503), name
    poster = operation("GET /api/v1/periods/{period_id}/boards/{unit_id}/poster.png")
    assert {"poster_unavailable", "wechat_unavailable"} <= set(codes(poster, 503))
    assert codes(poster, 502) == ["wechat_error"]


# --- operation ids, tags, summaries -------------------------------------------------------------


def test_operation_ids_are_domain_and_verb_and_unique() -> None:
    ids = [op["operationId"] for _, op in operations()]
    assert not [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", i) for i in ids), ids
    assert operation("POST /api/v1/claims")["operationId"] == "claims_submit"
    assert operation("POST /api/v1/claims/{claim_id}/decision")["operationId"] == "claims_decide"
    assert operation("POST /api/v1/wechat/callback/service")["operationId"] == (
        "callbacks_receive_service"
    )


def test_every_operation_has_one_described_chinese_tag() -> None:
    described = {tag["name"]: tag["description"] for tag in DOCUMENT["tags"]}
    assert [tag["name"] for tag in TAGS] == list(described)
    used = set()
    for name, op in operations():
        assert len(op["tags"]) == 1, name
        assert op["tags"][0] in described, name
        used.add(op["tags"][0])
    assert used == set(described)
    assert all(CJK.search(tag) and CJK.search(text) for tag, text in described.items())


def test_every_operation_has_a_chinese_summary_and_description() -> None:
    for name, op in operations():
        assert CJK.search(op.get("summary", "")), name
        assert CJK.search(op.get("description", "")), name


# --- binary responses ---------------------------------------------------------------------------

IMAGES = {"image/jpeg", "image/png", "image/webp"}
BINARY = {
    "GET /api/v1/photos/{photo_id}": IMAGES,
    "GET /api/v1/photos/{photo_id}/content": IMAGES,
    "GET /api/v1/roster/template": {XLSX},
    "GET /api/v1/org/units/{unit_id}/exports/attendance.xlsx": {XLSX},
    "GET /api/v1/periods/{period_id}/exports/ranking.xlsx": {XLSX},
    "GET /api/v1/periods/{period_id}/exports/assessment.xlsx": {XLSX},
    "GET /api/v1/org/units/{unit_id}/exports/quarterly-summary.xlsx": {XLSX},
    "GET /api/v1/members/{member_id}/exports/card.xlsx": {XLSX},
    "GET /api/v1/periods/{period_id}/boards/{unit_id}/poster.png": {"image/png"},
    "GET /api/v1/share/boards/{publication_id}/card.png": {"image/png"},
    "GET /api/v1/share/boards/{publication_id}/poster.png": {"image/png"},
    "GET /api/v1/members/{member_id}/card-code.png": {"image/jpeg", "image/png"},
}


@pytest.mark.parametrize("route", sorted(BINARY))
def test_a_file_response_declares_its_media_types_and_no_json(route: str) -> None:
    content = operation(route)["responses"]["200"]["content"]
    assert set(content) == BINARY[route]
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())


def test_every_file_route_is_in_the_table() -> None:
    """A route named like a file (`.png`, `.xlsx`) answers one: it belongs in the table above."""
    files = {name for name, _ in operations() if re.search(r"\.(png|xlsx|jpg|pdf)$", name)}
    assert files <= set(BINARY)


# --- examples ---------------------------------------------------------------------------------


def body_models(op: dict[str, Any]) -> list[str]:
    """The components a JSON request body may be (one, or each of a union)."""
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    found = re.findall(r"#/components/schemas/([\w-]+)", repr(schema))
    return sorted(set(found))


def test_every_json_request_body_has_an_example() -> None:
    bodies = [(n, op) for n, op in operations() if "requestBody" in op]
    assert len(bodies) > 40
    for name, op in bodies:
        content = op["requestBody"]["content"]
        if "application/json" not in content:
            assert set(content) == {"multipart/form-data"}, name  # a file: nothing to show
            continue
        models = body_models(op)
        assert models, name
        for model in models:
            assert SCHEMAS[model].get("examples"), f"{name}: {model} has no example"


@pytest.mark.parametrize("model", list(EXAMPLES), ids=lambda m: m.__name__)
def test_examples_validate_against_their_model_and_schema(model: Any) -> None:
    names = [n for n in (model.__name__, f"{model.__name__}-Input") if n in SCHEMAS]
    assert names, f"{model.__name__} is not in the document"
    check = validator({"$ref": f"#/components/schemas/{names[0]}"})
    for example in EXAMPLES[model]:
        model.model_validate(example)
        check.validate(example)
        assert SCHEMAS[names[0]]["examples"] == EXAMPLES[model]


def test_examples_speak_chinese() -> None:
    texts = [
        value
        for examples in EXAMPLES.values()
        for example in examples
        for value in example.values()
        if isinstance(value, str) and len(value) > 6 and not value.isascii()
    ]
    assert len(texts) > 25


def test_the_main_responses_have_an_example() -> None:
    """The shapes a newcomer meets first: signing in, `/me`, a claim, a photo, a ledger entry,
    a unit, and the error body."""
    main = ["TokensOut", "MeOut", "ClaimOut", "PhotoOut", "EntryOut", "UnitOut", "ErrorBody"]
    assert all(SCHEMAS[name].get("examples") for name in main)
