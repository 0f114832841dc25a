"""WeChat delivery through the fake server: channels, quota, fallbacks, retries, dead letters."""

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.models import (
    Delivery,
    Notice,
    ServiceFollower,
    SubscriptionQuota,
    WeChatAccount,
    utcnow,
)
from api.services import delivery as delivery_service
from api.services.delivery import Senders, run_once
from api.services.pace import LocalPace, PaceUnavailable
from api.wechat.client import WeChatClient
from tests.conftest import PG_URL, Org, make_settings
from tests.fakes.wechat import HTTP_502, SERVICE_APP_ID, SERVICE_APP_SECRET, FakeWeChat
from tests.workflow import attach, shanghai_today

Maker = async_sessionmaker[AsyncSession]
CALLBACK_TOKEN = "callback-token"
SERVICE_CALLBACK_TOKEN = "service-callback-token"
SUBSCRIBE_FIELDS = {
    "thing1": "item_name",
    "number2": "points",
    "thing3": "reason",
    "time4": "appeal_deadline",
}
# A deduction card whose appeal deadline no template can read: it fails in our own code.
POISON = {"item_name": "缺席", "points": "2", "reason": "缺席", "appeal_deadline": "下周一"}


@pytest.fixture
def settings(database_url: str, tmp_path: object) -> Settings:
    return make_settings(
        database_url,
        service_app_id=SERVICE_APP_ID,
        service_app_secret=SERVICE_APP_SECRET,
        wechat_callback_token=CALLBACK_TOKEN,
        service_callback_token=SERVICE_CALLBACK_TOKEN,
        delivery_backoff_seconds=0,
        delivery_max_attempts=3,
    )


@pytest.fixture
async def senders(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[Senders]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield Senders(
            WeChatClient(settings, http),
            WeChatClient(settings, http, SERVICE_APP_ID, SERVICE_APP_SECRET),
        )


@pytest.fixture
async def ready(client: httpx.AsyncClient, org: Org, sessionmaker: Maker) -> None:
    """合阳 scheme, member_a1 bound to WeChat, templates for the deduction card."""
    await attach(client, org, "heyang")
    async with sessionmaker() as session:
        session.add(
            WeChatAccount(
                openid="o-a1", unionid="u-a1", session_key="k", member_id=org.id("member_a1")
            )
        )
        await session.commit()
    for channel, template_id in (("subscribe", "T-DED"), ("service", "S-DED")):
        response = await client.put(
            f"/api/v1/notice-templates/deduction_card/{channel}",
            json={
                "template_id": template_id,
                "page": "pages/deduction",
                "fields": SUBSCRIBE_FIELDS,
            },
            headers=org.headers("admin"),
        )
        assert response.status_code == 200, response.text


def signed(query: dict[str, str], token: str = CALLBACK_TOKEN) -> dict[str, str]:
    parts = sorted([token, query["timestamp"], query["nonce"]])
    return {**query, "signature": hashlib.sha1("".join(parts).encode()).hexdigest()}


_NONCES = itertools.count()


def signed_now(token: str = CALLBACK_TOKEN) -> dict[str, str]:
    """A query as WeChat signs a push: our clock's time and a nonce not used before."""
    return signed({"timestamp": str(int(time.time())), "nonce": f"n{next(_NONCES)}"}, token)


async def accept(
    client: httpx.AsyncClient, openid: str, template_id: str, at: int
) -> httpx.Response:
    push = {
        "ToUserName": "gh_test",
        "FromUserName": openid,
        "CreateTime": at,
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": {"TemplateId": template_id, "SubscribeStatusString": "accept", "PopupScene": "0"},
    }
    return await client.post(
        "/api/v1/wechat/callback", params=signed_now(), content=json.dumps(push)
    )


async def deduct(client: httpx.AsyncClient, org: Org, item: str = "meeting_leave") -> None:
    response = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "请假未参加支部大会",
        },
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 201, response.text


async def deliveries(sessionmaker: Maker) -> list[Delivery]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Delivery).order_by(col(Delivery.id))))


async def test_a_deduction_card_arrives_as_a_subscribe_message_and_uses_the_quota(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    assert (await accept(client, "o-a1", "T-DED", 1700000001)).text == "success"
    await deduct(client, org)
    assert await run_once(sessionmaker, senders, settings) == 1
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("sent", "subscribe")
    [sent] = wechat.sent
    assert (sent["touser"], sent["template_id"]) == ("o-a1", "T-DED")
    assert sent["page"].startswith("pages/deduction?entry_id=")
    assert sent["data"]["thing1"]["value"] == "“三会一课”请假"
    assert sent["data"]["number2"]["value"] == "2.00"
    async with sessionmaker() as session:
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 0
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    assert inbox.json()["items"][0]["delivery_channel"] == "subscribe"


async def test_a_retried_push_counts_once(
    client: httpx.AsyncClient, org: Org, ready: None, sessionmaker: Maker
) -> None:
    for _ in range(3):
        assert (await accept(client, "o-a1", "T-DED", 1700000002)).status_code == 200
    async with sessionmaker() as session:
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 1


async def test_a_forged_push_is_refused(client: httpx.AsyncClient, org: Org, ready: None) -> None:
    response = await client.post(
        "/api/v1/wechat/callback",
        params={"timestamp": "1", "nonce": "n", "signature": "0" * 40},
        content=json.dumps({"FromUserName": "o-a1", "Event": "subscribe_msg_popup_event"}),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "callback_refused"


async def test_without_quota_the_service_account_takes_it_with_the_delivery_id(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("sent", "service")
    [sent] = wechat.sent
    assert (sent["touser"], sent["client_msg_id"]) == ("s-a1", str(delivery.id))
    assert sent["miniprogram"]["pagepath"].startswith("pages/deduction?")


async def test_43101_falls_back_and_resets_the_quota(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000003)
    await accept(client, "o-a1", "T-DED", 1700000004)
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    wechat.fail("subscribe_send", 43101, "user refuse to accept the msg")
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert delivery.channel == "service"
    async with sessionmaker() as session:
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 0


async def test_no_channel_means_inbox_only_with_the_reason(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
) -> None:
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert delivery.status == "inbox_only"
    assert delivery.reason == "订阅次数已用完；未关注服务号"
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    assert inbox.json()["items"][0]["delivery_reason"] == "订阅次数已用完；未关注服务号"


async def test_a_stale_token_is_reloaded_once_and_the_send_succeeds(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000005)
    await deduct(client, org)
    await senders.mini.access_token()
    wechat.expire_tokens()
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert delivery.status == "sent"
    assert wechat.calls["stable_token"] == 2


async def test_45009_backs_off_then_delivers(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000006)
    wechat.fail("subscribe_send", 45009, "reach max api daily quota limit")
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.attempts, delivery.errcode) == ("pending", 1, 45009)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("sent", "subscribe")
    assert len(wechat.sent) == 1


async def test_repeated_faults_end_in_a_dead_letter_an_admin_can_retry(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000007)
    wechat.fail("subscribe_send", HTTP_502, times=3)
    await deduct(client, org)
    for _ in range(3):
        await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert delivery.reason
    dead = await client.get("/api/v1/deliveries/dead", headers=org.headers("admin"))
    assert [d["id"] for d in dead.json()["items"]] == [delivery.id]
    denied = await client.get("/api/v1/deliveries/dead", headers=org.headers("secretary_a"))
    assert denied.status_code == 403
    health = await client.get("/api/v1/deliveries/health", headers=org.headers("admin"))
    assert health.json() == {
        "sent": 0,
        "waiting": 0,
        "inbox_only": 0,
        "failed": 1,
        "uncertain": 0,
    }
    hidden = await client.get("/api/v1/deliveries/health", headers=org.headers("secretary_a"))
    assert hidden.status_code == 403
    retried = await client.post(
        f"/api/v1/deliveries/{delivery.id}/retry", headers=org.headers("admin")
    )
    assert retried.json()["status"] == "pending"
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert delivery.status == "sent"
    health = await client.get("/api/v1/deliveries/health", headers=org.headers("admin"))
    assert (health.json()["sent"], health.json()["failed"]) == (1, 0)


async def test_two_workers_at_once_send_each_notice_once(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    for _ in range(12):
        await deduct(client, org)
    await asyncio.gather(*(run_once(sessionmaker, senders, settings, limit=5) for _ in range(4)))
    while await run_once(sessionmaker, senders, settings, limit=5):
        pass
    rows = await deliveries(sessionmaker)
    sent_ids = sorted(s["client_msg_id"] for s in wechat.sent)
    assert len(sent_ids) == len(set(sent_ids)) == 12
    assert sorted(str(d.id) for d in rows if d.status == "sent") == sent_ids
    assert {d.status for d in rows} == {"sent", "inbox_only"}  # threshold notices: no template


@pytest.mark.skipif(not PG_URL, reason="deliveries on their way four at a time: PostgreSQL")
async def test_two_workers_sending_four_at_a_time_send_each_notice_once_and_a_poisoned_one_alone(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """Batches of five, the next claimed while the last of the one before is on its way."""
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        session.add(
            Notice(member_id=org.id("member_a1"), kind="deduction_card", title="记分", data=POISON)
        )
        await session.commit()
    for _ in range(12):
        await deduct(client, org)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        senders = Senders(
            WeChatClient(settings, http),
            WeChatClient(settings, http, SERVICE_APP_ID, SERVICE_APP_SECRET),
            LocalPace(0),
            at_once=4,
        )
        await asyncio.gather(
            *(run_once(sessionmaker, senders, settings, limit=5) for _ in range(2))
        )
        while await run_once(sessionmaker, senders, settings, limit=5):
            pass
    poisoned, *cards = await deduction_cards(sessionmaker)
    sent_ids = sorted(s["client_msg_id"] for s in wechat.sent)
    assert len(sent_ids) == len(set(sent_ids)) == len(cards) == 12
    assert sorted(str(card.id) for card in cards if card.status == "sent") == sent_ids
    assert (poisoned.status, poisoned.attempts) == ("dead", settings.delivery_max_attempts)


class CountingPace:
    """Counts the calls that waited for a slot."""

    def __init__(self) -> None:
        self.waits = 0

    async def wait(self) -> None:
        self.waits += 1


async def test_only_a_call_to_wechat_waits_for_a_slot_of_the_pace(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """The first card goes as a subscribe message; the second, its subscription used, as a
    template message; a claim's result, which no template covers, to the inbox only."""
    await accept(client, "o-a1", "T-DED", 1700004000)
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        session.add(
            Notice(member_id=org.id("member_a1"), kind="claim_result", title="申报已通过", data={})
        )
        await session.commit()
    for _ in range(2):
        await deduct(client, org)
    pace = CountingPace()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        senders = Senders(
            WeChatClient(settings, http),
            WeChatClient(settings, http, SERVICE_APP_ID, SERVICE_APP_SECRET),
            pace,
        )
        await run_once(sessionmaker, senders, settings)
    assert sorted(s["api"] for s in wechat.sent) == ["subscribe_send", "template_send"]
    assert "inbox_only" in {d.status for d in await deliveries(sessionmaker)}
    assert pace.waits == 2


class UnreachablePace:
    """A shared pace whose database cannot be reached."""

    async def wait(self) -> None:
        raise PaceUnavailable()


async def test_a_pace_that_cannot_give_a_slot_costs_a_delivery_none_of_its_attempts(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """No slot, no call: the card waits for its claim to lapse with its attempts untouched,
    and goes once the pace answers again."""
    await accept(client, "o-a1", "T-DED", 1700004100)
    await deduct(client, org)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        mini = WeChatClient(settings, http)
        for _ in range(settings.delivery_max_attempts + 1):
            await run_once(sessionmaker, Senders(mini, None, UnreachablePace()), settings)
        (card,) = await deliveries(sessionmaker)
        assert (card.attempts, wechat.sent) == (0, [])
        later = datetime.now(UTC) + timedelta(seconds=settings.delivery_lease_seconds + 1)
        await run_once(sessionmaker, Senders(mini, None), settings, now=later)
    (card,) = await deliveries(sessionmaker)
    assert card.status == "sent"
    assert [s["api"] for s in wechat.sent] == ["subscribe_send"]


async def test_a_next_batch_that_cannot_be_claimed_ends_the_run_after_the_batch_in_hand(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    for _ in range(3):
        await deduct(client, org)
    claim_due = delivery_service.claim_due
    claims = 0

    async def second_fails(*args: Any) -> list[int]:
        nonlocal claims
        claims += 1
        if claims == 2:
            raise ConnectionResetError("the database went away")
        return await claim_due(*args)

    monkeypatch.setattr(delivery_service, "claim_due", second_fails)
    assert await run_once(sessionmaker, senders, settings, limit=2) == 2
    statuses = [d.status for d in await deliveries(sessionmaker)]
    assert len(statuses) - statuses.count("pending") == 2
    while await run_once(sessionmaker, senders, settings, limit=2):
        pass
    assert {d.status for d in await deliveries(sessionmaker)} == {"sent", "inbox_only"}
    sent_ids = [s["client_msg_id"] for s in wechat.sent]
    assert len(sent_ids) == len(set(sent_ids)) == 3


async def test_the_database_queues_one_delivery_per_notice_however_it_is_written(
    org: Org, sessionmaker: Maker
) -> None:
    """The trigger, not the ORM: a notice written as plain SQL is queued like any other, and a
    notice whose transaction rolls back leaves no delivery behind."""
    member = org.id("member_a1")
    async with sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO notice (member_id, kind, title, data, created_at) "
                "VALUES (:member, 'claim_result', '申报已通过', '{}', :now)"
            ),
            {"member": member, "now": utcnow()},
        )
        await session.commit()
    async with sessionmaker() as session:
        session.add(Notice(member_id=member, kind="claim_result", title="撤回", data={}))
        await session.flush()
        await session.rollback()
    async with sessionmaker() as session:
        [notice] = list(await session.scalars(select(Notice)))
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.notice_id, delivery.member_id) == (notice.id, member)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at == notice.created_at


async def test_a_worker_that_died_leaves_its_batch_to_the_next_one(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
) -> None:
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    await deduct(client, org)
    async with sessionmaker() as session:
        await session.execute(
            update(Delivery).values(status="sending", locked_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await run_once(sessionmaker, senders, settings) == 1
    async with sessionmaker() as session:
        statuses = await session.scalar(
            select(func.count()).select_from(Delivery).where(col(Delivery.status) == "sent")
        )
    assert statuses == 1


async def test_templates_are_set_by_admins_with_typed_keys(
    client: httpx.AsyncClient, org: Org
) -> None:
    url = "/api/v1/notice-templates/claim_result/subscribe"
    body = {"template_id": "T-CLAIM", "page": "pages/claim", "fields": {"first": "title"}}
    bad = await client.put(url, json=body, headers=org.headers("admin"))
    assert bad.status_code == 422
    assert bad.json()["code"] == "template_invalid"
    body["fields"] = {"phrase1": "status"}
    assert (await client.put(url, json=body, headers=org.headers("secretary_a"))).status_code == 403
    assert (await client.put(url, json=body, headers=org.headers("admin"))).status_code == 200


async def test_the_url_check_echoes_with_a_valid_signature(
    client: httpx.AsyncClient, org: Org
) -> None:
    params = signed_now()
    ok = await client.get("/api/v1/wechat/callback", params={**params, "echostr": "hello"})
    assert ok.text == "hello"
    forged = await client.get(
        "/api/v1/wechat/callback", params={**params, "signature": "f" * 40, "echostr": "x"}
    )
    assert forged.status_code == 403


async def test_a_new_service_follower_is_matched_by_unionid_and_reached(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    wechat.followers["s-a1"] = "u-a1"
    push = {
        "ToUserName": "gh_service",
        "FromUserName": "s-a1",
        "CreateTime": 1700000100,
        "MsgType": "event",
        "Event": "subscribe",
    }
    response = await client.post(
        "/api/v1/wechat/callback/service",
        params=signed_now(SERVICE_CALLBACK_TOKEN),
        content=json.dumps(push),
    )
    assert response.text == "success"
    async with sessionmaker() as session:
        follower = await session.get(ServiceFollower, "s-a1")
        assert follower is not None and follower.unionid == "u-a1"
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert delivery.channel == "service"


async def test_a_reported_refusal_stops_sends_but_a_reported_accept_adds_nothing(
    client: httpx.AsyncClient, org: Org, ready: None
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000200)
    url = "/api/v1/me/subscriptions"
    assert (await client.get(url, headers=org.headers("member_a1"))).json() == {"T-DED": 1}
    reported = await client.post(
        url, json={"results": {"T-DED": "accept"}}, headers=org.headers("member_a1")
    )
    assert reported.json() == {"T-DED": 1}
    refused = await client.post(
        url, json={"results": {"T-DED": "reject"}}, headers=org.headers("member_a1")
    )
    assert refused.json() == {"T-DED": 0}
    bad = await client.post(
        url, json={"results": {"T-DED": "maybe"}}, headers=org.headers("member_a1")
    )
    assert bad.status_code == 422


class TimesOutOnce(httpx.AsyncBaseTransport):
    """The first send times out: connecting (it never left), or waiting for the answer after
    WeChat took it (`answered=False`); everything else reaches the fake."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, answered: bool = True) -> None:
        self.inner = inner
        self.answered = answered
        self.timed_out = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/subscribe/send") and not self.timed_out:
            self.timed_out = True
            if self.answered:
                raise httpx.ConnectTimeout("timed out", request=request)
            await self.inner.handle_async_request(request)
            raise httpx.ReadTimeout("timed out", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_subscribe_message_whose_answer_timed_out_is_not_resent(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """Sent, then no answer: WeChat may have taken it, and a subscribe message has no
    idempotency key. It is settled as a crashed send is: uncertain, kept in the inbox."""
    await accept(client, "o-a1", "T-DED", 1700000350)
    await deduct(client, org)
    transport = TimesOutOnce(httpx.ASGITransport(app=wechat.app()), answered=False)
    async with httpx.AsyncClient(transport=transport) as http:
        senders = Senders(WeChatClient(settings, http), None)
        start = utcnow()
        for minutes in (0, 1, 60):
            await run_once(sessionmaker, senders, settings, now=start + timedelta(minutes=minutes))
    assert len(wechat.sent) == 1
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("uncertain", "subscribe")
    assert [(a["channel"], a["result"]) for a in delivery.history] == [("subscribe", "unknown")]


async def test_a_timeout_is_retried_and_then_delivered(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000300)
    await deduct(client, org)
    transport = TimesOutOnce(httpx.ASGITransport(app=wechat.app()))
    async with httpx.AsyncClient(transport=transport) as http:
        senders = Senders(WeChatClient(settings, http), None)
        await run_once(sessionmaker, senders, settings)
        [delivery] = await deliveries(sessionmaker)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("sent", "subscribe")
    async with sessionmaker() as session:
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 0


async def test_47003_falls_through_with_the_field_named(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000400)
    wechat.fail("subscribe_send", 47003, "argument invalid! data.thing3.value")
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.errcode) == ("inbox_only", None)
    assert "微信返回 47003" in (delivery.reason or "")


async def test_a_failed_receipt_is_kept_on_the_delivery(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000500)
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    push = {
        "FromUserName": "o-a1",
        "CreateTime": 1700000501,
        "MsgType": "event",
        "Event": "subscribe_msg_sent_event",
        "List": {"TemplateId": "T-DED", "MsgID": delivery.msgid, "ErrorCode": 20001},
    }
    await client.post("/api/v1/wechat/callback", params=signed_now(), content=json.dumps(push))
    [delivery] = await deliveries(sessionmaker)
    assert delivery.reason == "微信回执：20001"


KIND_SAMPLES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "deduction_card": (
        {"thing1": "item_name", "number2": "points"},
        {"item_name": "缺席", "points": "6"},
    ),
    "threshold": (
        {"number1": "at", "thing2": "consequence"},
        {"at": "9", "consequence": "警示谈话"},
    ),
    "claim_result": (
        {"thing1": "title", "phrase2": "status"},
        {"title": "申报", "status": "已通过"},
    ),
    "appeal_result": ({"thing1": "reason"}, {"reason": "核实已请假"}),
    "evaluation_reminder": ({"time1": "deadline"}, {"deadline": "2026-11-30T10:00:00+00:00"}),
    "monthly_score": ({"number1": "total", "number2": "rank"}, {"total": "87.5", "rank": 3}),
    "period_result": (
        {"character_string1": "period", "number2": "total"},
        {"period": "2026-Q3", "total": "88"},
    ),
    # 组织生活: the data `api.services.meetings.common.notice_data` gives every meeting notice.
    **{
        kind: (
            {"thing1": "title", "thing2": "kind", "time3": "starts_at", "thing4": "place"},
            {
                "title": "学习贯彻党的二十届四中全会精神专题党课",
                "kind": "党课",
                "starts_at": "2026-12-08T01:30:00+00:00",
                "place": "村委会二楼会议室",
            },
        )
        for kind in ("meeting_scheduled", "meeting_changed", "meeting_reminder")
    },
    "meeting_cancelled": (
        {"thing1": "title", "thing2": "reason"},
        {"title": "支部党员大会", "reason": "上级临时通知开会"},
    ),
    "leave_requested": (
        {"thing1": "title", "thing2": "reason"},
        {"title": "支部党员大会", "reason": "外出务工"},
    ),
    "leave_result": (
        {"thing1": "title", "phrase2": "status", "thing3": "reason"},
        {"title": "支部党员大会", "status": "未批准", "reason": "本次会议书记须主持"},
    ),
    # The data `api.services.share.nudges` gives the nudge to share a new board.
    "share_board": (
        {"thing1": "unit", "thing2": "period", "thing3": "hint"},
        {
            "period_id": 7,
            "unit_id": 3,
            "unit": "城关镇东关社区第一党支部",
            "period": "2026年11月",
            "hint": "本月公示已生成，分享到支部微信群",
        },
    ),
}


@pytest.mark.parametrize("kind", sorted(KIND_SAMPLES))
async def test_each_notice_kind_arrives_with_valid_data(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    kind: str,
) -> None:
    fields, data = KIND_SAMPLES[kind]
    await client.put(
        f"/api/v1/notice-templates/{kind}/subscribe",
        json={"template_id": f"T-{kind}", "page": f"pages/{kind}", "fields": fields},
        headers=org.headers("admin"),
    )
    await accept(client, "o-a1", f"T-{kind}", 1700000600)
    async with sessionmaker() as session:
        session.add(Notice(member_id=org.id("member_a1"), kind=kind, title=kind, data=data))
        await session.commit()
    await run_once(sessionmaker, senders, settings)
    [delivery] = await deliveries(sessionmaker)
    assert (delivery.status, delivery.channel) == ("sent", "subscribe")
    [sent] = wechat.sent
    assert sent["template_id"] == f"T-{kind}"
    assert set(sent["data"]) == set(fields)


# --- ownership, crashes, and what each channel did --------------------------------------------


async def deduction_cards(sessionmaker: Maker) -> list[Delivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Delivery)
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(col(Notice.kind) == "deduction_card")
            .order_by(col(Delivery.id))
        )
        return list(rows)


async def test_a_worker_whose_lease_ran_out_mid_send_sends_nothing_twice(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """Worker A's first answer is slower than its lease; worker B takes the batch over."""
    for at in range(3):
        await accept(client, "o-a1", "T-DED", 1700000700 + at)
    for _ in range(3):
        await deduct(client, org)
    start = utcnow()
    expired = start + timedelta(seconds=settings.delivery_lease_seconds + 1)

    async def worker_b() -> None:
        await run_once(sessionmaker, senders, settings, now=expired)

    wechat.while_answering = worker_b
    await run_once(sessionmaker, senders, settings, now=start)  # worker A
    pages = [s["page"] for s in wechat.sent if s["api"] == "subscribe_send"]
    assert len(pages) == len(set(pages)) == 3, pages
    cards = await deduction_cards(sessionmaker)
    # A's call in flight when B took over: B cannot know WeChat's answer, and does not resend.
    assert [d.status for d in cards] == ["uncertain", "sent", "sent"]
    async with sessionmaker() as session:
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 0


async def crash_while_answering(
    sessionmaker: Maker, senders: Senders, settings: Settings, wechat: FakeWeChat, at: datetime
) -> None:
    """The worker is stopped dead after WeChat took its first send and before it answered."""
    never = asyncio.Event()
    wechat.while_answering = never.wait
    before = len(wechat.sent)
    worker = asyncio.create_task(run_once(sessionmaker, senders, settings, now=at))
    for _ in range(500):
        if len(wechat.sent) > before:
            break
        await asyncio.sleep(0.01)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker


async def test_a_subscribe_message_whose_worker_died_after_wechat_took_it_is_not_resent(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000800)
    await deduct(client, org)
    start = utcnow()
    await crash_while_answering(sessionmaker, senders, settings, wechat, start)
    [card] = await deduction_cards(sessionmaker)
    assert (card.status, [a["result"] for a in card.history]) == ("sending", ["started"])

    later = start + timedelta(seconds=settings.delivery_lease_seconds + 1)
    await run_once(sessionmaker, senders, settings, now=later)
    assert len(wechat.sent) == 1
    [card] = await deduction_cards(sessionmaker)
    assert (card.status, card.channel) == ("uncertain", "subscribe")
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    [shown] = [n for n in inbox.json()["items"] if n["kind"] == "deduction_card"]
    assert shown["delivery_status"] == "uncertain"
    assert [(a["channel"], a["result"]) for a in shown["delivery_history"]] == [
        ("subscribe", "unknown")
    ]
    await run_once(sessionmaker, senders, settings, now=later + timedelta(hours=1))
    assert len(wechat.sent) == 1


@pytest.mark.parametrize(("minutes", "status"), [(5, "sent"), (11, "uncertain")])
async def test_a_template_message_of_unknown_outcome_is_resent_only_while_idempotent(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    minutes: int,
    status: str,
) -> None:
    """`client_msg_id` makes WeChat send a template message once within 10 minutes."""
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    await deduct(client, org)
    start = utcnow()
    await crash_while_answering(sessionmaker, senders, settings, wechat, start)
    await run_once(sessionmaker, senders, settings, now=start + timedelta(minutes=minutes))
    [card] = await deduction_cards(sessionmaker)
    assert (card.status, card.channel) == (status, "service")
    assert [s["client_msg_id"] for s in wechat.sent] == [str(card.id)]
    assert len(wechat.attempts) == (2 if status == "sent" else 1)


async def test_a_delivery_keeps_every_channel_it_tried_and_why_it_moved_on(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000900)
    async with sessionmaker() as session:
        session.add(ServiceFollower(openid="s-a1", unionid="u-a1"))
        await session.commit()
    wechat.fail("subscribe_send", 43101, "user refuse to accept the msg")
    await deduct(client, org)
    await run_once(sessionmaker, senders, settings)
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    [shown] = [n for n in inbox.json()["items"] if n["kind"] == "deduction_card"]
    assert shown["delivery_channel"] == "service"
    history = [
        (a["channel"], a["result"], a["errcode"], a["reason"]) for a in shown["delivery_history"]
    ]
    assert history == [
        ("subscribe", "failed", 43101, "用户拒收或无订阅次数"),
        ("service", "sent", None, None),
    ]


async def test_a_dead_letter_shows_each_attempt(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700001000)
    wechat.fail("subscribe_send", HTTP_502, times=3)
    await deduct(client, org)
    for _ in range(3):
        await run_once(sessionmaker, senders, settings)
    dead = await client.get("/api/v1/deliveries/dead", headers=org.headers("admin"))
    [letter] = dead.json()["items"]
    assert [(a["channel"], a["result"]) for a in letter["history"]] == [("subscribe", "failed")] * 3
    assert all(a["reason"] for a in letter["history"])


async def test_a_poisoned_delivery_is_recorded_and_the_rest_of_its_batch_is_sent(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    """A card whose appeal deadline no template can read, queued first."""
    for at in range(2):
        await accept(client, "o-a1", "T-DED", 1700003000 + at)
    async with sessionmaker() as session:
        session.add(
            Notice(member_id=org.id("member_a1"), kind="deduction_card", title="记分", data=POISON)
        )
        await session.commit()
    await deduct(client, org)
    assert await run_once(sessionmaker, senders, settings) >= 2
    poisoned, card = await deduction_cards(sessionmaker)
    assert (card.status, card.channel) == ("sent", "subscribe")
    assert (poisoned.status, poisoned.attempts) == ("pending", 1)
    assert poisoned.reason is not None and "ValueError" in poisoned.reason
    assert [(a["channel"], a["result"]) for a in poisoned.history] == [(None, "error")]
    async with sessionmaker() as session:  # the poisoned card took no subscription
        quota = await session.get(SubscriptionQuota, (org.id("member_a1"), "T-DED"))
        assert quota is not None and quota.remaining == 1
    for _ in range(2):
        await run_once(sessionmaker, senders, settings)
    poisoned, card = await deduction_cards(sessionmaker)
    assert (poisoned.status, poisoned.attempts) == ("dead", 3)
    assert len(wechat.sent) == 1
