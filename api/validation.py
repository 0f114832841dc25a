"""A request's validation errors in words a member can act on.

Each pydantic error becomes one Chinese phrase: the field as the mini-program shows it
(`FIELD_LABELS`) and what is wrong with it, by the error's type; a type without its own phrase
reads "格式不正确", never pydantic's English text.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

from api.schemas.labels import FIELD_LABELS, SCHEME_FIELD_LABELS
from api.scoring.scheme import problem_location

# Where FastAPI says a value came from: the first part of every error's location.
_SOURCES: Final = {"body": "请求内容", "query": "查询参数", "path": "路径", "header": "请求头"}
_INVALID: Final = "{field}格式不正确"
_WHOLE: Final = "{field}应为整数"
_NUMBER: Final = "{field}应为数字"
_DATE: Final = "{field}应为日期，如 2026-12-06"
_DATETIME: Final = "{field}应为日期时间，如 2026-12-06T08:00:00+08:00"
_YES_NO: Final = "{field}应为是或否"
_CHOICE: Final = "{field}不是可选的值"

PHRASES: Final[Mapping[str, str]] = {
    "missing": "{field}为必填项",
    "string_too_short": "{field}至少 {min_length} 个字",
    "string_too_long": "{field}最多 {max_length} 个字",
    "too_short": "{field}至少 {min_length} 项",
    "too_long": "{field}最多 {max_length} 项",
    "string_type": "{field}应为文字",
    "string_pattern_mismatch": _INVALID,
    "string_unicode": "{field}含有无法识别的字符",
    "int_type": _WHOLE,
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_parsing_size": "{field}超出范围",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "decimal_max_places": "{field}最多保留 {decimal_places} 位小数",
    "decimal_max_digits": "{field}最多 {max_digits} 位数字",
    "decimal_whole_digits": "{field}整数部分最多 {whole_digits} 位",
    "greater_than": "{field}应大于 {gt}",
    "greater_than_equal": "{field}不能小于 {ge}",
    "less_than": "{field}应小于 {lt}",
    "less_than_equal": "{field}不能大于 {le}",
    "multiple_of": "{field}应为 {multiple_of} 的倍数",
    "bool_type": _YES_NO,
    "bool_parsing": _YES_NO,
    "enum": _CHOICE,
    "literal_error": _CHOICE,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "timezone_aware": "{field}须带时区",
    "extra_forbidden": "不支持参数{field}",
    "value_error": "{reason}",
}
# Phrases that read better for the common bound of one.
_AT_LEAST_ONE: Final = {
    "string_too_short": "{field}不能为空",
    "too_short": "{field}至少选择一项",
}
MAX_PHRASES: Final = 3
# A scheme's choices are the values its definition is written with: the editor names them.
_SCHEME_PHRASES: Final[Mapping[str, str]] = {
    **PHRASES,
    "enum": "{field}只能是 {expected}",
    "literal_error": "{field}只能是 {expected}",
    "extra_forbidden": "{field}不是方案的字段",
    "value_error": "{field}：{reason}",
}


def field_label(location: Sequence[str | int]) -> tuple[str, str]:
    """The field as the mini-program names it, and as a message says it: with which item of a
    list (「照片」第 2 项) or which key of a map (「出席情况」「12」)."""
    parts = list(location[1:]) if location and location[0] in _SOURCES else list(location)
    named = [i for i, part in enumerate(parts) if isinstance(part, str) and part in FIELD_LABELS]
    if not named:
        label = _SOURCES.get(str(location[0]) if location else "body", "请求内容")
        return label, f"「{label}」"
    last = named[-1]
    label = FIELD_LABELS[str(parts[last])]
    words = f"「{label}」"
    for part in parts[last + 1 :]:
        words += f"第 {part + 1} 项" if isinstance(part, int) else f"「{part}」"
    return label, words


def describe(error: Mapping[str, Any]) -> dict[str, str]:
    """One pydantic error as {field, label, type, reason}; `reason` is the Chinese phrase."""
    kind = str(error.get("type", ""))
    location = tuple(error.get("loc", ()))
    context = dict(error.get("ctx") or {})
    label, field = field_label(location)
    if kind == "extra_forbidden":
        field = f"「{location[-1]}」" if location else field
    phrase = PHRASES.get(kind, _INVALID)
    if context.get("min_length") == 1:
        phrase = _AT_LEAST_ONE.get(kind, phrase)
    values = {key: str(value) for key, value in context.items()}
    values["reason"] = str(context.get("error", "")) or _INVALID.format(field=field)
    try:
        reason = phrase.format(field=field, **{k: v for k, v in values.items() if k != "field"})
    except (KeyError, IndexError):
        reason = _INVALID.format(field=field)
    path = ".".join(str(part) for part in location[1:])
    return {"field": path, "label": label, "type": kind, "reason": reason}


def summary(problems: Sequence[Mapping[str, str]]) -> str:
    """The problems in one line for the message: the first few, and how many more."""
    reasons = list(dict.fromkeys(problem["reason"] for problem in problems))
    shown = "；".join(reasons[:MAX_PHRASES])
    if len(reasons) > MAX_PHRASES:
        shown += f" 等 {len(reasons)} 处"
    return shown


def scheme_field(location: Sequence[str | int]) -> str:
    """A field of a scheme definition as the editor names it: 「事项」第 2 项「分值」; a key of a
    map as it is (a category, a code), and pydantic's own steps (a tagged union's tag) left out."""
    words = ""
    for part in location:
        if isinstance(part, int):
            words += f"第 {part + 1} 项"
        elif part in SCHEME_FIELD_LABELS:
            words += f"「{SCHEME_FIELD_LABELS[part]}」"
        elif "[" not in part and "-" not in part:
            words += f"「{part}」"
    return words or "方案"


def describe_scheme(error: Mapping[str, Any]) -> dict[str, str]:
    """One problem of a scheme definition as {field, reason}: `field` is its dotted location (the
    editor shows the problem there, down to the field a check of the whole names), `reason` the
    Chinese phrase naming it."""
    kind = str(error.get("type", ""))
    location = problem_location(error)
    context = dict(error.get("ctx") or {})
    field = scheme_field(location)
    phrase = _SCHEME_PHRASES.get(kind, _INVALID)
    if context.get("min_length") == 1:
        phrase = _AT_LEAST_ONE.get(kind, phrase)
    values = {key: str(value) for key, value in context.items() if key != "field"}
    values["expected"] = values.get("expected", "").replace(" or ", "、").replace(", ", "、")
    values["reason"] = str(context.get("error", "")) or "取值有误"
    try:
        reason = phrase.format(field=field, **values)
    except (KeyError, IndexError):
        reason = _INVALID.format(field=field)
    return {"field": ".".join(str(part) for part in location) or "scheme", "reason": reason}
