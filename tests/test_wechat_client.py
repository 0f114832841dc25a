"""The WeChat client on its own: transport faults, token caching, malformed answers."""

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.errors import WeChatError, WeChatUnavailable
from api.wechat.client import WeChatClient
from api.wechat.tokens import DatabaseTokenStore
from tests.conftest import make_settings
from tests.fakes.wechat import FakeWeChat


@pytest.fixture
def config() -> Settings:
    return make_settings("sqlite+aiosqlite:///:memory:")


async def test_network_failure_is_wechat_unavailable(config: Settings) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(WeChatUnavailable):
            await WeChatClient(config, http).code_to_session("c1")


async def test_server_error_status_is_wechat_unavailable(config: Settings) -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(502, text="Bad Gateway"))
    ) as http:
        with pytest.raises(WeChatUnavailable):
            await WeChatClient(config, http).code_to_session("c1")


async def test_answer_that_is_not_json_is_a_wechat_error(config: Settings) -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, text="<html>"))
    ) as http:
        with pytest.raises(WeChatError):
            await WeChatClient(config, http).code_to_session("c1")


async def test_access_token_is_fetched_once_and_reused(config: Settings) -> None:
    fake = FakeWeChat()
    fake.add_phone("p1", "13900000001")
    fake.add_phone("p2", "13900000002")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app())) as http:
        client = WeChatClient(config, http)
        assert await client.phone_number("p1") == "13900000001"
        assert await client.phone_number("p2") == "13900000002"
    assert fake.calls["stable_token"] == 1


async def test_workers_share_one_stored_token_and_drop_it_when_stale(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    fake = FakeWeChat()
    for n in range(3):
        fake.add_phone(f"p{n}", f"1390000000{n}")
    store = DatabaseTokenStore(sessionmaker, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app())) as http:
        first, second = (
            WeChatClient(settings, http, store=store),
            WeChatClient(settings, http, store=store),
        )
        await first.phone_number("p0")
        await second.phone_number("p1")
        assert fake.calls["stable_token"] == 1
        fake.expire_tokens()
        await second.phone_number("p2")
    assert fake.calls["stable_token"] == 2


class SlowToForget(DatabaseTokenStore):
    """A database slow to drop a token: calls in between still find it stored."""

    async def forget(self, name: str, token: str) -> None:
        await asyncio.sleep(0.05)
        await super().forget(name, token)


class SlowToAnswer(httpx.ASGITransport):
    """WeChat a little slow to answer, so that calls are on their way together."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return await super().handle_async_request(request)


async def test_calls_that_find_the_token_stale_together_all_go_through_with_one_fresh_token(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A worker's deliveries on their way at once: each call that WeChat answers 40001 drops
    the token it used, and no call takes the stale token again while it is being dropped."""
    fake = FakeWeChat()
    for n in range(6):
        fake.add_phone(f"p{n}", f"1390000000{n}")
    async with httpx.AsyncClient(transport=SlowToAnswer(app=fake.app())) as http:
        client = WeChatClient(settings, http, store=SlowToForget(sessionmaker, settings))
        await client.phone_number("p0")
        fake.expire_tokens()
        numbers = await asyncio.gather(*(client.phone_number(f"p{n}") for n in range(1, 6)))
    assert numbers == [f"1390000000{n}" for n in range(1, 6)]
    assert fake.calls["stable_token"] == 2
