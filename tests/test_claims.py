"""党员自主申报 through the API: idempotent submission, the review chain, caps, denials."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import event, func, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import (
    Claim,
    ClaimStatus,
    Notice,
    PeriodRecord,
    PhotoUpload,
    ScoreEntry,
    id_of,
)
from tests.conftest import PG_URL, Org
from tests.workflow import (
    EARLY_CLOSE,
    attach,
    decide,
    file_claim,
    open_period,
    photo,
    shanghai_today,
)

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def lutou(client: httpx.AsyncClient, org: Org) -> int:
    return await attach(client, org, "lutou")


@pytest.fixture
async def pic(sessionmaker: Maker, org: Org, lutou: int) -> int:
    return await photo(sessionmaker, org, "member_a1", "a")


async def count(sessionmaker: Maker, model: type, *where: object) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return await session.scalar(query) or 0


async def test_member_lists_the_items_they_may_declare(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    response = await client.get("/api/v1/claims/declarable-items", headers=org.headers("member_a1"))
    assert response.status_code == 200
    items = {i["code"]: i for i in response.json()["items"]}
    assert "village_cleaning" in items
    assert "theme_day_absent" not in items
    assert "cadre_duty" not in items  # category A only; member_a1 is B
    assert items["village_cleaning"]["approval_steps"] == ["group_leader", "branch_assembly"]
    assert items["village_cleaning"]["evidence_required"] is True


async def test_a_retried_submission_returns_the_first_claim(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    first = await file_claim(client, org, "member_a1", "key-00000001", [pic])
    assert first.status_code == 201, first.text
    again = await file_claim(client, org, "member_a1", "key-00000001", [pic])
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await count(sessionmaker, Claim) == 1
    other = await file_claim(client, org, "member_a1", "key-00000001", [pic], item="forest_fire")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"


async def test_a_retry_returns_the_first_claim_though_its_checks_no_longer_pass(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    """The item's cap is reached after the first request filed its claim: a retry with its key
    still gets that claim, and a retry with another body is still told the key is taken."""
    first = await file_claim(client, org, "member_a1", "key-retry-late", [pic])
    assert first.status_code == 201, first.text
    for n in range(3):
        claim = (await file_claim(client, org, "member_a1", f"key-retry-cap{n}", [pic])).json()
        assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
        assert (await decide(client, org, "secretary_a", claim["id"])).status_code == 200
    fresh = await file_claim(client, org, "member_a1", "key-retry-new", [pic])
    assert fresh.json()["code"] == "cap_reached"
    again = await file_claim(client, org, "member_a1", "key-retry-late", [pic])
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    other = await file_claim(client, org, "member_a1", "key-retry-late", [pic], item="no_such")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"


async def test_concurrent_retries_with_one_key_make_one_claim(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    responses = await asyncio.gather(
        *(file_claim(client, org, "member_a1", "key-concurrent", [pic]) for _ in range(20))
    )
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(sessionmaker, Claim) == 1


@pytest.mark.parametrize(
    ("item", "photos", "extra", "status", "code"),
    [
        ("village_cleaning", False, {}, 400, "evidence_required"),
        ("theme_day_absent", True, {}, 400, "item_not_declarable"),
        ("cadre_duty", True, {}, 400, "item_not_applicable"),
        ("no_such", True, {}, 400, "item_not_in_scheme"),
        ("village_cleaning", True, {"occurred_on": "2099-01-01"}, 400, "future_date"),
        ("village_cleaning", True, {"description": ""}, 422, "validation_error"),
        ("village_cleaning", True, {"photo_ids": [999999]}, 404, "photo_not_found"),
    ],
)
async def test_bad_submissions_get_clear_errors(
    client: httpx.AsyncClient,
    org: Org,
    pic: int,
    item: str,
    photos: bool,
    extra: dict[str, object],
    status: int,
    code: str,
) -> None:
    extra = dict(extra)
    photo_ids = extra.pop("photo_ids", [pic] if photos else [])
    assert isinstance(photo_ids, list)
    response = await file_claim(
        client, org, "member_a1", "key-bad-0001", photo_ids, item=item, **extra
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_the_idempotency_key_is_required(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    response = await client.post(
        "/api/v1/claims",
        json={"item_code": "village_cleaning", "occurred_on": "2026-11-01", "description": "清洁"},
        headers=org.headers("member_a1"),
    )
    assert response.status_code == 422


async def test_leader_confirms_then_the_assembly_approves_into_one_entry(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    claim = (await file_claim(client, org, "member_a1", "key-chain-01", [pic])).json()
    assert claim["current_step"] == "group_leader"

    async def inbox(who: str) -> list[int]:
        response = await client.get("/api/v1/claims/review-inbox", headers=org.headers(who))
        return [c["id"] for c in response.json()["items"]]

    assert await inbox("leader_a1") == [claim["id"]]
    assert await inbox("leader_a2") == []
    assert await inbox("secretary_a") == []
    early = await decide(client, org, "secretary_a", claim["id"])
    assert early.status_code == 403
    assert early.json()["code"] == "not_your_turn"

    confirmed = await decide(client, org, "leader_a1", claim["id"])
    assert confirmed.json()["current_step"] == "branch_assembly"
    assert await inbox("secretary_a") == [claim["id"]]
    twice = await decide(client, org, "leader_a1", claim["id"])
    assert twice.status_code == 403

    approved = await decide(client, org, "secretary_a", claim["id"], reason="党员大会评定通过")
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["current_step"]) == ("approved", None)
    assert body["entry_id"] is not None
    assert await count(sessionmaker, ScoreEntry) == 1
    repeat = await decide(client, org, "secretary_a", claim["id"])
    assert repeat.status_code == 409
    assert await count(sessionmaker, ScoreEntry) == 1

    detail = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    events = [(e["from_status"], e["to_status"]) for e in detail.json()["events"]]
    assert events == [
        ("", "pending"),
        ("pending:group_leader", "pending:branch_assembly"),
        ("pending:branch_assembly", "approved"),
    ]
    score = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/score", headers=org.headers("member_a1")
    )
    assert score.json()["result"]["total"] == "62.00"
    assert await count(sessionmaker, Notice, col(Notice.kind) == "claim_result") == 1


async def test_a_claims_photos_keep_the_order_they_were_filed_in(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, lutou: int
) -> None:
    first, second, third = [await photo(sessionmaker, org, "member_a1", tag) for tag in "abc"]
    order = [third, first, second]
    claim = (await file_claim(client, org, "member_a1", "key-order-01", order)).json()
    assert claim["photo_ids"] == order
    assert [shown["id"] for shown in claim["photos"]] == order  # their own: each with its URL
    confirmed = await decide(client, org, "leader_a1", claim["id"])
    assert confirmed.json()["photo_ids"] == order
    approved = (await decide(client, org, "secretary_a", claim["id"])).json()
    assert approved["photo_ids"] == order
    assert [shown["id"] for shown in approved["photos"]] == order
    ledger = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/entries", headers=org.headers("member_a1")
    )
    assert ledger.json()["items"][0]["evidence"] == order


async def test_concurrent_final_approvals_write_exactly_one_entry(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    claim = (await file_claim(client, org, "member_a1", "key-race-001", [pic])).json()
    assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    responses = await asyncio.gather(
        *(decide(client, org, "secretary_a", claim["id"]) for _ in range(20))
    )
    assert sorted({r.status_code for r in responses}) in ([200, 409], [200])
    assert [r.status_code for r in responses].count(200) == 1
    assert await count(sessionmaker, ScoreEntry) == 1


async def test_rejection_needs_a_reason_and_tells_the_member(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    claim = (await file_claim(client, org, "member_a1", "key-reject-1", [pic])).json()
    no_reason = await decide(client, org, "leader_a1", claim["id"], "reject")
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "reason_required"
    rejected = await decide(client, org, "leader_a1", claim["id"], "reject", "照片与事项不符")
    assert rejected.json()["status"] == "rejected"
    notices = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    assert notices.json()["items"][0]["data"]["reason"] == "照片与事项不符"
    assert notices.json()["unread"] == 1
    mine = await client.get("/api/v1/claims/mine", headers=org.headers("member_a1"))
    assert [(c["status"], c["last_reason"]) for c in mine.json()["items"]] == [
        ("rejected", "照片与事项不符")
    ]


async def test_the_database_writes_a_claims_history_however_it_is_changed(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    """The triggers, not the service: a change of status or step made in plain SQL is recorded
    with the claim's last actor and reason; a change of anything else is not a transition."""
    claim = (await file_claim(client, org, "member_a1", "key-history-1", [pic])).json()
    await decide(client, org, "leader_a1", claim["id"], reason="属实")
    async with sessionmaker() as session:
        for statement in (
            "UPDATE claim SET updated_at = updated_at WHERE id = :id",
            "UPDATE claim SET status = 'withdrawn', last_actor_id = :actor, "
            "last_reason = '书记代为撤回' WHERE id = :id",
        ):
            await session.execute(text(statement), {"id": claim["id"], "actor": org.id("admin")})
        await session.commit()
    detail = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    events = [
        (e["actor_id"], e["from_status"], e["to_status"], e["reason"])
        for e in detail.json()["events"]
    ]
    assert events == [
        (org.id("member_a1"), "", "pending", None),
        (org.id("leader_a1"), "pending:group_leader", "pending:branch_assembly", "属实"),
        (org.id("admin"), "pending:branch_assembly", "withdrawn", "书记代为撤回"),
    ]
    assert detail.json()["last_reason"] == "书记代为撤回"


async def test_a_member_withdraws_only_their_own_pending_claim(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    claim = (await file_claim(client, org, "member_a1", "key-withdr-1", [pic])).json()
    url = f"/api/v1/claims/{claim['id']}/withdraw"
    assert (await client.post(url, headers=org.headers("member_a1b"))).status_code == 404
    assert (await client.post(url, headers=org.headers("leader_a1"))).status_code == 404
    withdrawn = await client.post(url, headers=org.headers("member_a1"))
    assert withdrawn.json()["status"] == "withdrawn"
    late = await decide(client, org, "leader_a1", claim["id"])
    assert late.status_code == 409
    assert late.json()["code"] == "claim_state_conflict"


async def test_nobody_reviews_their_own_claim(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, lutou: int
) -> None:
    own = await photo(sessionmaker, org, "leader_a1", "b")
    claim = (await file_claim(client, org, "leader_a1", "key-leader-1", [own])).json()
    assert claim["steps"] == ["branch_assembly"]
    response = await decide(client, org, "leader_a1", claim["id"])
    assert response.status_code == 403
    inbox = await client.get("/api/v1/claims/review-inbox", headers=org.headers("secretary_a"))
    assert [c["id"] for c in inbox.json()["items"]] == [claim["id"]]


async def test_claims_are_invisible_outside_scope(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    claim = (await file_claim(client, org, "member_a1", "key-scope-01", [pic])).json()
    for who in ("member_a1b", "leader_a2", "secretary_b", "admin2"):
        response = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers(who))
        assert response.status_code == 404, who
        assert (await decide(client, org, who, claim["id"])).status_code == 404, who


async def test_the_same_photo_in_two_claims_is_flagged_to_the_reviewer(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    async with sessionmaker() as session:  # member_a1b uploads the very same picture
        session.add(PhotoUpload(photo_id=pic, member_id=org.id("member_a1b")))
        await session.commit()
    first = (await file_claim(client, org, "member_a1", "key-photo-01", [pic])).json()
    second = (
        await file_claim(client, org, "member_a1b", "key-photo-02", [pic], item="forest_fire")
    ).json()
    inbox = await client.get("/api/v1/claims/review-inbox", headers=org.headers("leader_a1"))
    flags = {c["id"]: c["evidence_reuse"] for c in inbox.json()["items"]}
    assert flags == {first["id"]: 1, second["id"]: 1}


async def test_only_ones_own_uploads_are_evidence_and_others_look_like_missing_ids(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    foreign = await file_claim(client, org, "member_a1b", "key-photo-03", [pic])
    missing = await file_claim(client, org, "member_a1b", "key-photo-04", [999999])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "photo_not_found"
    assert foreign.json()["message"] == missing.json()["message"]


async def test_the_periods_cap_stops_further_claims(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    for n in range(3):
        claim = (await file_claim(client, org, "member_a1", f"key-cap-0{n}", [pic])).json()
        assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
        assert (await decide(client, org, "secretary_a", claim["id"])).status_code == 200
    capped = await file_claim(client, org, "member_a1", "key-cap-09", [pic])
    assert capped.status_code == 409
    assert capped.json()["code"] == "cap_reached"


async def test_the_cap_refuses_the_approval_that_would_pass_it(
    client: httpx.AsyncClient, org: Org, pic: int
) -> None:
    """Claims filed while the item was under its cap wait for review; once approvals reach the
    cap, the next approval is refused and writes nothing, the claim left for a rejection."""
    claims = [
        (await file_claim(client, org, "member_a1", f"key-cap-a{n}", [pic])).json()
        for n in range(4)
    ]
    for claim in claims:
        assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    for claim in claims[:3]:
        assert (await decide(client, org, "secretary_a", claim["id"])).status_code == 200
    refused = await decide(client, org, "secretary_a", claims[3]["id"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "cap_reached"
    ledger = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/entries", headers=org.headers("member_a1")
    )
    assert len(ledger.json()["items"]) == 3
    mine = await client.get(f"/api/v1/claims/{claims[3]['id']}", headers=org.headers("member_a1"))
    assert mine.json()["status"] == "pending"


async def test_a_close_rejects_the_pending_claims_of_its_period_only_when_confirmed(
    client: httpx.AsyncClient, org: Org, pic: int, lutou: int, sessionmaker: Maker
) -> None:
    """Once closed, a period takes no approval: a close finds the claims still pending and
    rejects them with the closer's reason, telling each member, instead of leaving them stuck."""
    claim = (await file_claim(client, org, "member_a1", "key-closed-1", [pic])).json()
    assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    period_id = await open_period(sessionmaker, lutou)
    url = f"/api/v1/periods/{period_id}/close"
    refused = await client.post(url, headers=org.headers("admin"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "close_needs_confirmation"
    assert refused.json()["detail"]["pending_claims"] == 1
    no_reason = await client.post(url, json={"force": True}, headers=org.headers("admin"))
    assert no_reason.status_code == 422
    reason = "本月考核提前结算，未审核的申报请下月重新申报"
    closed = await client.post(
        url, json={"force": True, "reason": reason}, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text
    after = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    assert (after.json()["status"], after.json()["last_reason"]) == ("rejected", reason)
    assert after.json()["events"][-1]["actor_id"] == org.id("admin")
    told = (await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))).json()
    assert [(n["kind"], n["data"]["claim_id"], n["data"]["reason"]) for n in told["items"]] == [
        ("claim_result", claim["id"], reason)
    ]
    late = await decide(client, org, "secretary_a", claim["id"])
    assert (late.status_code, late.json()["code"]) == (409, "claim_state_conflict")
    inbox = await client.get("/api/v1/claims/review-inbox", headers=org.headers("secretary_a"))
    assert inbox.json()["total"] == 0
    assert await count(sessionmaker, ScoreEntry) == 0


@pytest.mark.skipif(not PG_URL, reason="a close holding the period's row lock: PostgreSQL")
async def test_an_approval_racing_the_close_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, org: Org, pic: int, lutou: int, sessionmaker: Maker
) -> None:
    """The approval's insert finds the period open, then waits on the close's lock: the
    database's open-period check refuses it once the close commits."""
    claim = (await file_claim(client, org, "member_a1", "key-closing-1", [pic])).json()
    assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    period_id = await open_period(sessionmaker, lutou)
    async with sessionmaker() as closing:
        await closing.execute(text(f"UPDATE period SET status = 'closed' WHERE id = {period_id}"))
        approval = asyncio.create_task(decide(client, org, "secretary_a", claim["id"]))
        await asyncio.sleep(0.5)
        assert not approval.done()  # waiting for the close
        await closing.commit()
    refused = await approval
    assert refused.status_code == 409
    assert refused.json()["code"] == "period_closed"
    still = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    assert still.json()["status"] == "pending"
    assert await count(sessionmaker, ScoreEntry) == 0


@pytest.mark.skipif(not PG_URL, reason="a withdrawal holding the claim's row lock: PostgreSQL")
async def test_an_approval_losing_the_claim_to_a_withdrawal_writes_nothing(
    client: httpx.AsyncClient, org: Org, pic: int, lutou: int, sessionmaker: Maker
) -> None:
    """The approval's one statement writes the entry, then waits on the claim a withdrawal
    holds: once that commits, the compare-and-set finds nothing to move, and the request rolls
    its entry back (the member is told nothing)."""
    claim = (await file_claim(client, org, "member_a1", "key-withdrawn-1", [pic])).json()
    assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    await open_period(sessionmaker, lutou)
    told_before = await count(sessionmaker, Notice)
    async with sessionmaker() as withdrawing:
        await withdrawing.execute(
            text(f"UPDATE claim SET status = 'withdrawn' WHERE id = {claim['id']}")
        )
        approval = asyncio.create_task(decide(client, org, "secretary_a", claim["id"]))
        await asyncio.sleep(0.5)
        assert not approval.done()  # waiting for the withdrawal
        await withdrawing.commit()
    refused = await approval
    assert (refused.status_code, refused.json()["code"]) == (409, "claim_state_conflict")
    still = await client.get(f"/api/v1/claims/{claim['id']}", headers=org.headers("member_a1"))
    assert (still.json()["status"], still.json()["entry_id"]) == ("withdrawn", None)
    assert await count(sessionmaker, ScoreEntry) == 0
    assert await count(sessionmaker, Notice) == told_before


@pytest.mark.skipif(not PG_URL, reason="a close holding the period's row lock: PostgreSQL")
async def test_a_submission_racing_the_close_waits_and_is_refused(
    client: httpx.AsyncClient, org: Org, pic: int, lutou: int, sessionmaker: Maker
) -> None:
    """A submission that read the period open while a close was deciding it would land pending
    in a closed period, where nobody can approve it: it waits for the close, then is refused."""
    period_id = await open_period(sessionmaker, lutou)
    async with sessionmaker() as closing:
        await closing.execute(text(f"UPDATE period SET status = 'closed' WHERE id = {period_id}"))
        submission = asyncio.create_task(file_claim(client, org, "member_a1", "key-race-1", [pic]))
        await asyncio.sleep(0.5)
        assert not submission.done()  # waiting for the close
        await closing.commit()
    refused = await submission
    assert (refused.status_code, refused.json()["code"]) == (409, "claim_period_closed")
    assert await count(sessionmaker, Claim) == 0


@pytest.mark.skipif(not PG_URL, reason="a submission holding the period's row: PostgreSQL")
async def test_a_close_counts_the_claims_of_submissions_it_waited_for(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: Maker
) -> None:
    """A close waits for the submissions in flight and counts their claims: one committed
    meanwhile needs the closer's confirmation like any pending claim, never stays behind."""
    last_month = shanghai_today().replace(day=1) - timedelta(days=1)
    period_id = await open_period(sessionmaker, lutou, last_month)
    async with sessionmaker() as submitting:
        await submitting.execute(
            text(f"SELECT status FROM period WHERE id = {period_id} FOR SHARE")
        )
        submitting.add(
            Claim(
                member_id=org.id("member_a1"),
                scheme_id=lutou,
                item_code="village_cleaning",
                points=Decimal(2),
                occurred_on=last_month,
                description="参加村庄清洁行动",
                idempotency_key="key-inflight-1",
                status=ClaimStatus.pending,
                steps=["branch_assembly"],
                step=0,
                last_actor_id=org.id("member_a1"),
            )
        )
        await submitting.flush()
        close = asyncio.create_task(
            client.post(f"/api/v1/periods/{period_id}/close", headers=org.headers("admin"))
        )
        await asyncio.sleep(0.5)
        assert not close.done()  # waiting for the submission
        await submitting.commit()
    refused = await close
    assert (refused.status_code, refused.json()["code"]) == (409, "close_needs_confirmation")
    assert refused.json()["detail"]["pending_claims"] == 1


async def test_batch_confirmation_skips_what_is_not_the_leaders(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, lutou: int
) -> None:
    ids = []
    for n, who in enumerate(("member_a1", "member_a1b", "member_a2")):
        own = await photo(sessionmaker, org, who, f"batch{n}")
        claim = (await file_claim(client, org, who, f"key-batch-0{n}", [own])).json()
        ids.append(claim["id"])
    response = await client.post(
        "/api/v1/claims/decisions",
        json={"claim_ids": ids, "decision": "approve"},
        headers=org.headers("leader_a1"),
    )
    assert response.status_code == 200, response.text
    outcomes = {o["claim_id"]: o for o in response.json()}
    assert outcomes[ids[0]]["ok"] and outcomes[ids[1]]["ok"]
    assert outcomes[ids[2]]["code"] == "claim_not_found"


async def test_a_claim_is_dated_in_the_running_period_or_the_one_just_ended(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    """Submission looks periods up and never creates one: a date long past (on a capped item,
    whose cap check used to create its period) is refused with a clear code, never a 500."""
    last_month = shanghai_today().replace(day=1) - timedelta(days=1)
    before_last = last_month.replace(day=1) - timedelta(days=1)
    for n, day in enumerate(("1900-01-15", "0001-01-01", before_last.isoformat())):
        response = await file_claim(
            client, org, "member_a1", f"key-past-{n:03d}", [pic], occurred_on=day
        )
        assert response.status_code == 422, (day, response.text)
        assert response.json()["code"] == "claim_date_outside_window"
    assert await count(sessionmaker, PeriodRecord) == 0
    just_ended = await file_claim(
        client, org, "member_a1", "key-past-last", [pic], occurred_on=last_month.isoformat()
    )
    assert just_ended.status_code == 201, just_ended.text
    assert await count(sessionmaker, PeriodRecord) == 0


async def test_a_claim_dated_in_a_closed_period_is_refused(
    client: httpx.AsyncClient, org: Org, pic: int, lutou: int, sessionmaker: Maker
) -> None:
    last_month = shanghai_today().replace(day=1) - timedelta(days=1)
    ended = await open_period(sessionmaker, lutou, last_month)
    closed = await client.post(f"/api/v1/periods/{ended}/close", headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text  # ended, nothing waiting: no confirmation
    refused = await file_claim(
        client, org, "member_a1", "key-shut-0001", [pic], occurred_on=last_month.isoformat()
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "claim_period_closed"
    assert refused.json()["message"] == "该日期所在的考核期已结算，不能再申报；如有遗漏请联系支部"
    running = await open_period(sessionmaker, lutou)
    early = await client.post(
        f"/api/v1/periods/{running}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert early.status_code == 200, early.text
    today = await file_claim(client, org, "member_a1", "key-shut-0002", [pic])
    assert (today.status_code, today.json()["code"]) == (409, "claim_period_closed")
    assert await count(sessionmaker, Claim) == 0


async def test_pending_claims_of_one_item_are_capped_per_member(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    limit = org.settings.max_pending_claims_per_item
    for n in range(limit):
        filed = await file_claim(client, org, "member_a1", f"key-flood-{n:03d}", [pic])
        assert filed.status_code == 201, filed.text
    flood = await file_claim(client, org, "member_a1", "key-flood-over", [pic])
    assert flood.status_code == 409, flood.text
    assert flood.json()["code"] == "too_many_pending_claims"
    assert flood.json()["detail"] == {"item_code": "village_cleaning", "max_pending": limit}
    other_item = await file_claim(
        client, org, "member_a1", "key-flood-other", [pic], item="forest_fire"
    )
    assert other_item.status_code == 201
    other_member = await file_claim(
        client,
        org,
        "member_a1b",
        "key-flood-a1b",
        [await photo(sessionmaker, org, "member_a1b", "f")],
    )
    assert other_member.status_code == 201
    first = await client.get("/api/v1/claims/mine", headers=org.headers("member_a1"))
    oldest = first.json()["items"][-1]["id"]
    withdrawn = await client.post(
        f"/api/v1/claims/{oldest}/withdraw", headers=org.headers("member_a1")
    )
    assert withdrawn.status_code == 200
    again = await file_claim(client, org, "member_a1", "key-flood-again", [pic])
    assert again.status_code == 201
    assert await count(sessionmaker, Claim) == limit + 3


async def test_the_review_inbox_reads_only_its_page_and_counts_each_claims_reuse(
    client: httpx.AsyncClient, org: Org, pic: int, sessionmaker: Maker
) -> None:
    """A flood of claims reusing one photo: the inbox reads one page of claims and gives each
    a count of the other uses of its evidence, not the list of every claim that reuses it."""
    async with sessionmaker() as session:  # member_a1b uploads the very same picture
        session.add(PhotoUpload(photo_id=pic, member_id=org.id("member_a1b")))
        await session.commit()
    filed = []
    for who, item in (("member_a1", "village_cleaning"), ("member_a1b", "forest_fire")):
        for n in range(6):
            claim = await file_claim(client, org, who, f"key-{who}-{n:03d}", [pic], item=item)
            assert claim.status_code == 201, claim.text
            filed.append(claim.json()["id"])
    first = await client.get(
        "/api/v1/claims/review-inbox", params={"size": 5}, headers=org.headers("leader_a1")
    )
    assert [c["id"] for c in first.json()["items"]] == filed[:5]
    loaded: list[int] = []

    def on_load(claim: Claim, _: object) -> None:
        loaded.append(id_of(claim))

    event.listen(Claim, "load", on_load)
    try:
        page = await client.get(
            "/api/v1/claims/review-inbox",
            params={"cursor": first.json()["next_cursor"], "size": 5},
            headers=org.headers("leader_a1"),
        )
    finally:
        event.remove(Claim, "load", on_load)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 12
    assert [c["id"] for c in body["items"]] == filed[5:10]
    assert {c["evidence_reuse"] for c in body["items"]} == {11}
    # The page, and the one claim after it that says another page follows.
    assert sorted(set(loaded)) == filed[5:11]
    assert body["next_cursor"]
    last = await client.get(
        "/api/v1/claims/review-inbox",
        params={"cursor": body["next_cursor"], "size": 5},
        headers=org.headers("leader_a1"),
    )
    assert [c["id"] for c in last.json()["items"]] == filed[10:]
    assert last.json()["next_cursor"] is None
