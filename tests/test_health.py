import httpx


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_openapi_documents_the_error_codes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    description = spec["info"]["description"]
    for code in ("invalid_token", "roster_invalid", "wechat_code_invalid", "member_already_bound"):
        assert f"`{code}`" in description
    assert "ErrorBody" in spec["components"]["schemas"]


async def test_unknown_route_gets_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "请求的内容不存在", "detail": None}
