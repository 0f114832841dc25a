"""What the OpenAPI document says beyond what FastAPI reads from the routes: each route's errors
(derived from the code by `api.raises`), readable operation ids, the Chinese tags, the binary
responses and the examples (`api.examples`).

A generated client reads all of it: the TypeScript type of a route's error is the union of the
codes it can answer with, an operation is called `claims_submit`, not `submit_api_v1_claims_post`.
"""

import http
from collections.abc import Iterable, Mapping
from typing import Any, Final

from fastapi import APIRouter
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from api.errors import (
    AppError,
    Conflict,
    ErrorBody,
    InternalError,
    InvalidJson,
    ServiceUnavailable,
    TooManyItems,
    ValidationFailed,
    error_catalogue,
)
from api.examples import EXAMPLES
from api.limits import BodyCap
from api.raises import route_errors

REF_PREFIX: Final = "#/components/schemas/"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The code the app answers a framework HTTP error with when it has no code of its own.
HTTP_ERROR: Final = "http_error"
WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

TAGS: Final = [
    {"name": "运行状态", "description": "存活、就绪检查与 Prometheus 指标（供运维与负载均衡使用）"},
    {"name": "登录", "description": "微信登录、绑定花名册中的党员、刷新与退出；电脑控制台扫码登录"},
    {"name": "我的登录", "description": "查看并退出本人在小程序与电脑控制台上的登录"},
    {"name": "党员", "description": "当前党员、党员名单与详情、修改党员信息、绑定邀请码"},
    {"name": "组织", "description": "党委、党支部、党小组的组织树，职务任免与交接，操作日志"},
    {"name": "花名册", "description": "花名册模板下载、上传预览与按预览导入"},
    {"name": "积分方案", "description": "方案预设、为组织设置方案、修改方案（生成新版本）"},
    {"name": "考核期", "description": "实时积分、结算、公示、重新打开、考核结果与试算"},
    {"name": "积分台账", "description": "手工调整、支部考核打分、冲正与党员的积分台账"},
    {"name": "照片", "description": "上传证明照片与查看照片（签名临时链接）"},
    {"name": "申报审核", "description": "党员自主申报积分事项，支委逐级审核"},
    {"name": "记分", "description": "支委记分（扣分），同时生成记分告知卡"},
    {"name": "申诉", "description": "党员对本人记分提出申诉，支部或党委处理"},
    {"name": "待办", "description": "达到阈值与结算决定产生的谈话、通报、免职等待办"},
    {"name": "通知", "description": "站内通知（告知卡、审核与申诉结果）与订阅消息次数"},
    {"name": "微心愿", "description": "支部发布群众微心愿，党员认领、完成，年终结算"},
    {"name": "承诺践诺", "description": "党员提交本期承诺，支部审批、评价履诺情况"},
    {"name": "民主评议", "description": "自评、互评、支委评议的发起、推进、评分与结果"},
    {"name": "组织生活", "description": "三会一课等会议的召开、请假、扫码签到、出勤与导出"},
    {"name": "消息投递", "description": "通知模板与已放弃投递的重试"},
    {"name": "微信推送", "description": "微信服务器的配置校验与消息推送接收"},
    {"name": "公示", "description": "公示榜、排名海报、Excel 导出与支部群机器人"},
    {"name": "分享与扫码", "description": "分享公示到微信群、分享图片、小程序码与扫码进入"},
]


def operation_id(route: APIRoute) -> str:
    """`<domain>_<name>`: the router's module (the domain) and the route's name, which is its
    function's unless the route names itself (the two WeChat callbacks share one function)."""
    domain = route.endpoint.__module__.rsplit(".", 1)[-1]
    return f"{domain}_{route.name}"


def binary(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The success response of a route that answers a file, for `responses=` (with
    `response_class=Response`, so that no JSON body is promised besides)."""
    schema = {"type": "string", "format": "binary"}
    content = {media_type: {"schema": schema} for media_type in media_types}
    return {200: {"description": description, "content": content}}


XLSX_FILE: Final = binary(XLSX, description="Excel 工作簿（.xlsx）")


def _has_json_body(route: APIRoute) -> bool:
    return route.body_field is not None and "requestBody" not in (route.openapi_extra or {})


def _has_body(route: APIRoute) -> bool:
    return route.body_field is not None or "requestBody" in (route.openapi_extra or {})


def _has_parameters(route: APIRoute) -> bool:
    return bool(get_flat_params(route.dependant))


def _framework_errors(route: APIRoute, cap: BodyCap | None) -> set[type[AppError]]:
    """The errors the app's handlers answer with for this route whatever its code does: bad
    parameters, a body too large or not JSON, a unique row written twice at once, a database
    down, a bug."""
    found: set[type[AppError]] = {InternalError, ServiceUnavailable}
    if _has_parameters(route) or _has_body(route):
        found.add(ValidationFailed)
    if _has_json_body(route):
        found |= {InvalidJson, TooManyItems}
    writes = bool((route.methods or set()) & WRITES)
    if cap is not None and (_has_body(route) or writes):
        found.add(type(cap.refusal()))
    if writes:
        found.add(Conflict)
    return found


def _error_response(status: int, errors: Iterable[type[AppError]]) -> dict[str, Any]:
    ordered = sorted(errors, key=lambda error: error.code)
    lines = "\n".join(f"- `{error.code}`：{error.message}" for error in ordered)
    schema = {
        "allOf": [{"$ref": f"{REF_PREFIX}ErrorBody"}],
        "properties": {"code": {"type": "string", "enum": [error.code for error in ordered]}},
        "required": ["code"],
    }
    reason = http.HTTPStatus(status).phrase
    return {
        "description": f"{reason}\n\n{lines}",
        "content": {"application/json": {"schema": schema}},
    }


def declare_errors(
    routers: Iterable[tuple[APIRouter, str]],
    caps: Mapping[tuple[str, str], BodyCap],
    default: BodyCap,
) -> None:
    """Give every route a response per error status it can answer with, listing its codes.

    The routes are the routers' own (an app keeps an included router's routes): declaring is
    the same for every app built, and the analysis behind it is done once per process."""
    for router, prefix in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    _declare(route, caps.get((method, prefix + route.path), default))


def _declare(route: APIRoute, cap: BodyCap) -> None:
    by_status: dict[int, set[type[AppError]]] = {}
    for error in route_errors(route) | _framework_errors(route, cap):
        by_status.setdefault(error.status, set()).add(error)
    # A new dict: routes may share the one they were declared with (`XLSX_FILE`).
    route.responses = {
        **route.responses,
        **{status: _error_response(status, errors) for status, errors in sorted(by_status.items())},
    }


def error_codes() -> list[str]:
    return sorted({error.code for error in error_catalogue()} | {HTTP_ERROR})


def _error_body_schema() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template=REF_PREFIX + "{model}")
    schema["properties"]["code"]["enum"] = error_codes()
    return schema


def _with_examples(schemas: dict[str, Any]) -> None:
    for model, examples in EXAMPLES.items():
        for name in (model.__name__, f"{model.__name__}-Input", f"{model.__name__}-Output"):
            if name in schemas:
                schemas[name]["examples"] = examples


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """The document FastAPI generated, with the shared error body and the examples."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = _error_body_schema()
    _with_examples(schemas)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document
