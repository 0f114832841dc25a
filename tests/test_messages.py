"""Error messages a member can act on: Chinese, fields by their labels, one message per code.

The catalogue and every raise site of the code base are walked: a code is one class with one
message (a raise site fills its `{fields}`, never words it differently), and no message holds an
English enum value. Validation errors name fields as the mini-program shows them, in Chinese;
invalid JSON has its own code.
"""

import ast
import enum
import importlib
import pkgutil
import re
import string
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

import api
from api.errors import AppError, error_catalogue
from api.main import ROUTED_DOMAINS
from api.routers import health
from api.schemas.labels import FIELD_LABELS, SCHEME_FIELD_LABELS
from api.scoring import scheme
from api.scoring.presets import PRESETS
from api.validation import PHRASES
from tests.conftest import Org
from tests.workflow import attach, shanghai_today

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
ASCII_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def all_modules() -> Iterator[Any]:
    for found in pkgutil.walk_packages(api.__path__, "api."):
        yield importlib.import_module(found.name)


def enum_values() -> set[str]:
    """Every string value of every enum the code base defines (statuses, kinds, roles…)."""
    values = set()
    for module in all_modules():
        for value in vars(module).values():
            ours = isinstance(value, type) and value.__module__.startswith("api.")
            if ours and issubclass(value, enum.Enum):
                values |= {str(e.value).casefold() for e in value if isinstance(e.value, str)}
    return values


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def english_enum_words(template: str) -> set[str]:
    words = ASCII_WORD.findall(re.sub(r"{\w*}", "", template))
    return {word for word in words if word.casefold() in enum_values()}


def errors() -> list[type[AppError]]:
    list(all_modules())  # errors defined beside their domain (photos) are in the catalogue too
    return error_catalogue()


def test_each_code_is_one_error_with_one_chinese_message() -> None:
    codes: dict[str, type[AppError]] = {}
    for error in errors():
        assert error.code not in codes, f"{error.code}: {codes[error.code]} and {error}"
        codes[error.code] = error
        assert CJK.search(error.message), error
        assert not english_enum_words(error.message), (error.code, error.message)


def test_validation_phrases_are_chinese_without_enum_values() -> None:
    for kind, phrase in PHRASES.items():
        if phrase != "{reason}":
            assert CJK.search(phrase), kind
        assert not english_enum_words(phrase), (kind, phrase)


def raise_sites() -> Iterator[tuple[str, ast.Call | ast.Name, type[AppError]]]:
    """Every place the code base builds (or raises) one of the catalogue's errors by name."""
    by_name = {error.__name__: error for error in errors()}
    for path in sorted((ROOT / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in by_name:
                    yield where, node, by_name[node.func.id]
            elif (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Name)
                and node.exc.id in by_name
            ):
                yield where, node.exc, by_name[node.exc.id]


def test_no_raise_site_words_a_code_differently() -> None:
    problems = []
    sites = list(raise_sites())
    assert len(sites) > 100, "the walk finds the code base's errors"
    for where, node, error in sites:
        wanted = fields_of(error.message)
        if isinstance(node, ast.Name):
            given: set[str] = set()
        else:
            if node.args or any(k.arg in (None, "message") for k in node.keywords):
                problems.append(f"{where}: {error.__name__} given its own text")
                continue
            given = {k.arg for k in node.keywords if k.arg is not None} - {"detail"}
        if given != wanted:
            problems.append(f"{where}: {error.__name__} fills {given}, its message has {wanted}")
    assert not problems, "\n".join(problems)


def request_fields() -> set[str]:
    """Every parameter, header and body field (nested models too) of every route."""
    names: set[str] = set()

    def walk_model(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            for kind in (*typing.get_args(info.annotation), info.annotation):
                for inner in (*typing.get_args(kind), kind):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        walk_model(inner)

    def walk(dependant: Any) -> None:
        params = dependant.path_params + dependant.query_params + dependant.header_params
        for param in params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk_model(annotation)  # a model of query parameters: its fields are sent
            else:
                names.add(param.alias)
        for param in dependant.body_params:
            names.add(param.alias)
            annotation = param.field_info.annotation
            for kind in (*typing.get_args(annotation), annotation):
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk_model(kind)
        for sub in dependant.dependencies:
            walk(sub)

    for module in (health, *ROUTED_DOMAINS):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            walk(route.dependant)
    return names


def test_every_request_field_has_a_chinese_label() -> None:
    missing = sorted(request_fields() - set(FIELD_LABELS))
    assert not missing, f"fields without a label in api/schemas/labels.py: {missing}"
    assert all(CJK.search(label) for label in FIELD_LABELS.values())


def test_every_scheme_field_has_a_chinese_label() -> None:
    """A definition's problems name its fields as the scheme editor shows them."""
    fields = {
        name
        for model in vars(scheme).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        if model.__module__ == scheme.__name__
        for name in model.model_fields
    }
    missing = sorted(fields - set(SCHEME_FIELD_LABELS))
    assert not missing, f"scheme fields without a label in api/schemas/labels.py: {missing}"
    assert all(CJK.search(label) for label in SCHEME_FIELD_LABELS.values())


# --- through the API ------------------------------------------------------------------------------


async def test_a_missing_or_empty_field_is_named_as_the_mini_program_shows_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "heyang")
    response = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={"occurred_on": "明天", "reason": ""},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == (
        "请求参数有误：「积分事项」为必填项；「发生日期」应为日期，如 2026-12-06；"
        "「原因」至少 2 个字"
    )
    assert {problem["label"] for problem in body["detail"]} == {"积分事项", "发生日期", "原因"}
    assert "Field required" not in response.text


async def test_a_list_item_and_a_bound_are_named_in_chinese(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "heyang")
    response = await client.post(
        "/api/v1/claims",
        json={
            "item_code": "volunteer_service",
            "occurred_on": shanghai_today().isoformat(),
            "description": "x",
            "photo_ids": [1, "two"],
        },
        headers={**org.headers("member_a1"), "Idempotency-Key": "short"},
    )
    assert response.status_code == 422
    message = response.json()["message"]
    assert "「照片」第 2 项应为整数" in message
    assert "「请求编号」至少 8 个字" in message


async def test_invalid_json_is_its_own_code(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/wechat/login",
        content=b'{"code": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_json"
    assert body["message"] == "请求内容不是有效的 JSON，请检查后重试"


async def test_a_body_that_is_not_utf8_is_invalid_json(client: httpx.AsyncClient) -> None:
    """FastAPI cannot even decode it; the client still gets the code its route declares."""
    response = await client.post(
        "/api/v1/auth/wechat/login",
        content=b"}\xd8\x85\xff",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


async def test_a_rounds_stage_is_named_in_chinese(client: httpx.AsyncClient, org: Org) -> None:
    definition = PRESETS["xuanhua"].model_dump(mode="json")
    definition["components"] = [
        {"kind": "daily", "weight": "0.5"},
        {"kind": "self", "weight": "0.5"},
    ]
    attached = await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert attached.status_code == 201, attached.text
    opened = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds",
        json={"deadline": f"{shanghai_today().year + 1}-01-01T00:00:00+08:00"},
        headers=org.headers("secretary_a"),
    )
    assert opened.status_code == 201, opened.text
    url = f"/api/v1/evaluation-rounds/{opened.json()['id']}/advance"
    forward = await client.post(url, json={"to": "collecting"}, headers=org.headers("secretary_a"))
    assert forward.status_code == 200, forward.text
    back = await client.post(url, json={"to": "open"}, headers=org.headers("secretary_a"))
    assert back.status_code == 409
    body = back.json()
    assert body["code"] == "round_stage_skipped"
    assert body["message"].startswith("评议只能逐阶段推进：当前为「自评互评」")
    assert not re.search("[A-Za-z]", body["message"]), body["message"]


async def test_a_decided_appeal_has_its_own_code(client: httpx.AsyncClient, org: Org) -> None:
    await attach(client, org, "heyang")
    entry = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": "meeting_absent",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "缺席",
        },
        headers=org.headers("secretary_a"),
    )
    assert entry.status_code == 201, entry.text
    appeal = await client.post(
        f"/api/v1/entries/{entry.json()['entry']['id']}/appeals",
        json={"reason": "当天已请假"},
        headers=org.headers("member_a1"),
    )
    assert appeal.status_code == 201, appeal.text
    url = f"/api/v1/appeals/{appeal.json()['id']}/decision"
    decision = {"outcome": "uphold", "reason": "核实无误"}
    first = await client.post(url, json=decision, headers=org.headers("committee_a"))
    assert first.status_code == 200, first.text
    again = await client.post(url, json=decision, headers=org.headers("committee_a"))
    assert (again.status_code, again.json()["code"]) == (409, "appeal_decided")
    assert again.json()["message"] == "该申诉已处理"


@pytest.mark.parametrize("value", ["0", "abc"])
async def test_a_path_number_is_named_too(client: httpx.AsyncClient, org: Org, value: str) -> None:
    response = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/exports/card.xlsx",
        params={"year": value},
        headers=org.headers("member_a1"),
    )
    assert response.status_code == 422
    assert "「年份」" in response.json()["message"]
