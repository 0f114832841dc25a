"""Every error answer of the test suite is one its route declares in the OpenAPI document.

The declared errors are derived from the code (`api.raises`); this check is what keeps the
derivation honest: a raise site the analysis cannot see fails the first test that reaches it,
naming the route and the code to look for. The `client` fixture runs it on every response.
"""

import re
from typing import Any

import httpx
from fastapi import FastAPI


class DeclaredErrors:
    """The error codes each operation of an app's document lists, by method and path."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.operations: list[tuple[str, re.Pattern[str], str, dict[str, set[str]]]] = []
        for template, operations in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, operation in operations.items():
                codes = {
                    status: set(_codes(response))
                    for status, response in operation["responses"].items()
                    if status[0] in "45"
                }
                self.operations.append((method.upper(), pattern, template, codes))

    def check(self, method: str, path: str, status: int, code: str) -> None:
        for declared_method, pattern, template, codes in self.operations:
            if declared_method == method and pattern.match(path):
                listed = codes.get(str(status), set())
                assert code in listed, (
                    f"{method} {template} answered {status} `{code}`, which its OpenAPI does "
                    f"not declare ({sorted(listed) or 'no such status'}): `api.raises` missed "
                    "where this error is raised"
                )
                return


def _codes(response: dict[str, Any]) -> list[str]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    enum: list[str] = schema.get("properties", {}).get("code", {}).get("enum", [])
    return enum


_read: list[DeclaredErrors] = []


def checker(app: FastAPI) -> DeclaredErrors:
    """Read once per run: every app built has the same routes, whatever its settings."""
    if not _read:
        _read.append(DeclaredErrors(app.openapi()))
    return _read[0]


def response_hook(app: FastAPI) -> Any:
    declared = checker(app)

    async def check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            request = response.request
            declared.check(request.method, request.url.path, response.status_code, body["code"])

    return check
