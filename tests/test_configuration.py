"""Configuration in one place: `.env.example` names every setting with its default and meaning,
and each process starts with a line of the configuration in force, secrets left out."""

import io
import json
import logging
import re
from typing import Any

import pytest
from pydantic import SecretStr, TypeAdapter

from api import logs
from api.config import Settings
from tests.conftest import ROOT

EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"#? ?([A-Z][A-Z0-9_]*)=(.*)")


def _documented() -> dict[str, tuple[str, list[str]]]:
    """Each variable of `.env.example`: its value there and the comment lines of its block."""
    found: dict[str, tuple[str, list[str]]] = {}
    comments: list[str] = []
    for line in EXAMPLE.read_text().splitlines():
        if not line.strip():
            comments = []
        elif match := ASSIGNMENT.fullmatch(line):
            found[match.group(1)] = (match.group(2), list(comments))
        elif line.startswith("#"):
            comments.append(line)
    return found


def test_every_setting_is_in_the_example_with_its_default_and_meaning() -> None:
    documented = _documented()
    missing = [name for name in Settings.model_fields if name.upper() not in documented]
    assert missing == [], f"add these to .env.example: {missing}"
    for name, field in Settings.model_fields.items():
        value, comments = documented[name.upper()]
        assert any(len(line) > 10 for line in comments), f"{name.upper()} has no meaning"
        if field.annotation is SecretStr:
            assert value == "", f"{name.upper()}: a secret has no value in the example"
            continue
        assert field.annotation is not None
        shown: Any = TypeAdapter(field.annotation).validate_python(value)
        assert shown == field.default, (name.upper(), value, field.default)


def test_the_example_names_no_setting_that_does_not_exist() -> None:
    known = {name.upper() for name in Settings.model_fields}
    others = {"POSTER_FONT", "FORWARDED_ALLOW_IPS"}  # read by the poster and by uvicorn
    assert set(_documented()) - known == others


SECRETS = {
    "jwt_secret": "jwt-secret-value-0123456789abcdef0123",
    "data_key": "data-key-value-0123456789abcdef-01234",
    "wechat_app_secret": "app-secret-value-9f8e",
    "wechat_callback_token": "callback-token-value",
    "wechat_encoding_aes_key": "aes-key-value-0123",
    "service_app_secret": "service-secret-value",
    "service_callback_token": "service-token-value",
    "service_encoding_aes_key": "service-aes-value",
    "metrics_token": "metrics-token-value",
}


def test_the_startup_line_shows_every_setting_and_no_secret() -> None:
    settings = Settings.model_validate(
        {
            "database_url": "postgresql+asyncpg://pioneer_app:db-password-value@db:5432/pioneer",
            "migration_database_url": "postgresql+asyncpg://owner:owner-password-value@db/x",
            "app_page_base": "https://example.cn/page?token=query-secret-value",
            "wechat_app_id": "wx-visible",
            **SECRETS,
        }
    )
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("api")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logs.startup("api", settings.printable())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [line] = [json.loads(text) for text in written.getvalue().splitlines()]
    shown = line["settings"]
    assert line["event"] == "api starting" and line["component"] == "api"
    assert set(shown) == {name.upper() for name in Settings.model_fields}
    hidden = [*SECRETS.values(), "db-password-value", "owner-password-value", "query-secret-value"]
    assert [secret for secret in hidden if secret in written.getvalue()] == []
    assert shown["JWT_SECRET"] == "(set)" and shown["WECHAT_APP_ID"] == "wx-visible"
    assert shown["DATABASE_URL"] == "postgresql+asyncpg://pioneer_app:***@db:5432/pioneer"
    assert shown["SERVICE_APP_ID"] == "" and shown["PORT"] == 8000


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_both_log_formats_render_a_record_with_its_request(fmt: str) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logs.formatter(fmt))  # type: ignore[arg-type]
    logger = logging.getLogger("api.test")
    logger.addHandler(handler)
    context = logs.begin("rid-1")
    try:
        logs.note_member(42)
        logger.warning("called /send?access_token=abc")
    finally:
        logs.end(context)
        logger.removeHandler(handler)
    text = written.getvalue()
    assert "rid-1" in text and "42" in text and "abc" not in text
