"""Filling template data within WeChat's limits: WeChat rejects (47003) rather than truncates.

The type of a value comes from its key (`thing1`, `number2`, `phrase3`, …); each value is cut or
cleaned to what that type allows before anything is sent.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from api.scoring.periods import SHANGHAI

KEY = re.compile(r"^([a-z_]+?)(\d+)$")
CHINESE = re.compile(r"[一-鿿]")
NOT_CHINESE = re.compile(r"[^一-鿿]")
ELLIPSIS = "…"


class TemplateValueError(ValueError):
    """A value that no shortening can make acceptable (e.g. a `number` that is not a number)."""


def key_type(key: str) -> str:
    match = KEY.match(key)
    if match is None:
        raise TemplateValueError(f"template key {key!r} has no type prefix")
    return match.group(1)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _number(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise TemplateValueError(f"{value!r} is not a number") from exc
    text = f"{number:f}"
    digits = sum(ch.isdigit() for ch in text)
    if digits > 32:
        raise TemplateValueError(f"{value!r} has more than 32 digits")
    return text


def _time(value: Any, with_time: bool) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI)
        return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    raise TemplateValueError(f"{value!r} is not a time")


def _phrase(value: Any) -> str:
    """≤5 pure Chinese characters: digits and letters are dropped, never sent."""
    text = NOT_CHINESE.sub("", str(value))[:5]
    if not text:
        raise TemplateValueError(f"{value!r} has no Chinese characters for a phrase")
    return text


def _name(value: Any) -> str:
    text = str(value)
    return text[:10] if CHINESE.search(text) else text[:20]


def format_value(key: str, value: Any) -> str:
    """The value of one template key, within the limits of the key's type."""
    kind = key_type(key)
    if value is None:
        raise TemplateValueError(f"no value for {key}")
    if kind == "thing":
        return _cut(str(value).replace("\n", " "), 20)
    if kind == "number":
        return _number(value)
    if kind in ("letter", "character_string"):
        return re.sub(r"\s", "", str(value))[:32]
    if kind == "symbol":
        return str(value)[:5]
    if kind == "time":
        return _time(value, with_time=True)
    if kind == "date":
        return _time(value, with_time=False)
    if kind == "amount":
        return "¥" + _number(value)[:10]
    if kind == "phone_number":
        return re.sub(r"[^\d+\-]", "", str(value))[:17]
    if kind == "name":
        return _name(value)
    if kind == "phrase":
        return _phrase(value)
    raise TemplateValueError(f"unknown template key type {kind!r}")


def template_data(fields: dict[str, str], data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`{"thing1": {"value": …}, …}` from a key → field mapping and a notice's data."""
    return {key: {"value": format_value(key, data.get(field))} for key, field in fields.items()}
