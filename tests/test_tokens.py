"""Our JWTs: HS256 pinned, `exp` and `sub` required, the token type checked."""

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from jose import jwt

from api import security
from tests.conftest import Org


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(org: Org, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(org.id("member_a1")),
        "sid": org.logins["member_a1"],
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _secret(org: Org) -> str:
    return org.settings.jwt_secret.get_secret_value()


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_reaches_me(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org), _secret(org), algorithm="HS256")
    response = await _me(client, token)
    assert response.status_code == 200
    assert response.json()["member"]["id"] == org.id("member_a1")


async def test_missing_token_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Basic {token}", "{token}"])
async def test_a_token_not_presented_as_bearer_is_not_read(
    client: httpx.AsyncClient, org: Org, authorization: str
) -> None:
    token = jwt.encode(_claims(org), _secret(org), algorithm="HS256")
    headers = {"Authorization": authorization.format(token=token)}
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_alg_none_token_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    claims = _claims(org, iat=1700000000, exp=4102444800)
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_token_signed_with_another_algorithm_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    token = jwt.encode(_claims(org), _secret(org), algorithm="HS512")
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_token_with_a_bad_signature_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org), "some-other-secret", algorithm="HS256")
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_tampered_payload_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org), _secret(org), algorithm="HS256")
    header, _payload, signature = token.split(".")
    forged = _b64(_claims(org, sub=str(org.id("admin")), iat=1700000000, exp=4102444800))
    response = await _me(client, f"{header}.{forged}.{signature}")
    assert response.status_code == 401


async def test_expired_token_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        _claims(org, iat=past - timedelta(hours=1), exp=past), _secret(org), algorithm="HS256"
    )
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


async def test_token_without_exp_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org, exp=None), _secret(org), algorithm="HS256")
    assert (await _me(client, token)).status_code == 401


async def test_token_without_sub_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org, sub=None), _secret(org), algorithm="HS256")
    assert (await _me(client, token)).status_code == 401


async def test_binding_ticket_is_not_an_access_token(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org, typ="bind"), _secret(org), algorithm="HS256")
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_token_of_unknown_member_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    token = jwt.encode(_claims(org, sub="999999"), _secret(org), algorithm="HS256")
    assert (await _me(client, token)).status_code == 401


async def test_a_token_checked_before_is_refused_once_it_expires(
    client: httpx.AsyncClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process keeps what it verified of a token; its expiry is still read on every use."""
    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = jwt.encode(_claims(org, exp=expires), _secret(org), algorithm="HS256")
    assert (await _me(client, token)).status_code == 200
    assert (await _me(client, token)).status_code == 200

    monkeypatch.setattr(security, "utcnow", lambda: expires + timedelta(seconds=1))
    response = await _me(client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
