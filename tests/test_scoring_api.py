"""Schemes, the ledger and periods through the API: inheritance, close, publish, reopen, what-if."""

import importlib
import pkgutil
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import AuditRecord, Member, PeriodRecord, PeriodResult, SchemeRecord
from api.models.base import utcnow
from api.schemas.periods import SubjectResultOut
from api.scoring import Scheme, period_from_key, presets
from api.scoring.presets import PRESETS
from api.scoring.results import to_plain
from api.scoring.scheme import ItemKind, PeriodLength, RankScope, SubjectKind
from api.services import periods
from api.services.ledger import today_in_shanghai
from api.services.periods import live
from tests.conftest import Org
from tests.workflow import EARLY_CLOSE, open_period, shanghai_today


async def attach(
    client: httpx.AsyncClient, org: Org, unit: str, preset: str, who: str = "admin"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/org/units/{org.unit_id(unit)}/schemes",
        json={"preset": preset},
        headers=org.headers(who),
    )


async def adjust(
    client: httpx.AsyncClient,
    org: Org,
    member: str,
    item: str,
    points: str | None = None,
    who: str = "admin",
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "item_code": item,
        "occurred_on": shanghai_today().isoformat(),
        "reason": "参加村庄清洁行动",
        **extra,
    }
    if points is not None:
        body["points"] = points
    return await client.post(
        f"/api/v1/members/{org.id(member)}/adjustments", json=body, headers=org.headers(who)
    )


async def score(client: httpx.AsyncClient, org: Org, member: str, who: str) -> httpx.Response:
    return await client.get(f"/api/v1/members/{org.id(member)}/score", headers=org.headers(who))


@pytest.fixture
async def lutou(client: httpx.AsyncClient, org: Org) -> int:
    response = await attach(client, org, "town", "lutou")
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def current_period(client: httpx.AsyncClient, org: Org, scheme_id: int) -> dict[str, Any]:
    periods = await client.get(f"/api/v1/schemes/{scheme_id}/periods", headers=org.headers("admin"))
    assert periods.status_code == 200, periods.text
    period: dict[str, Any] = periods.json()[0]
    return period


async def test_presets_are_listed(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/schemes/presets", headers=org.headers("member_a1"))
    assert {p["slug"] for p in response.json()} == set(PRESETS)


async def test_only_an_admin_over_the_unit_attaches_a_scheme(
    client: httpx.AsyncClient, org: Org
) -> None:
    assert (await attach(client, org, "branch_a", "lutou", who="secretary_a")).status_code == 403
    assert (await attach(client, org, "town", "lutou", who="secretary_a")).status_code == 404
    assert (await attach(client, org, "town", "lutou", who="admin2")).status_code == 404
    assert (await attach(client, org, "town", "lutou")).status_code == 201
    again = await attach(client, org, "town", "nitun")
    assert again.status_code == 409
    assert again.json()["code"] == "scheme_exists"


async def test_an_invalid_definition_is_refused_naming_the_field(
    client: httpx.AsyncClient, org: Org
) -> None:
    definition = PRESETS["university"].model_dump(mode="json")
    definition["components"][0]["weight"] = "0.9"
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "scheme_invalid"
    reason = "「构成」：「权重」合计为 1.2，应为 1"
    assert body["detail"] == [{"field": "components", "reason": reason}]


async def test_a_definitions_problems_are_said_in_chinese_at_their_field(
    client: httpx.AsyncClient, org: Org
) -> None:
    attached = await attach(client, org, "town", "heyang")
    assert attached.status_code == 201, attached.text
    definition = PRESETS["heyang"].model_dump(mode="json")
    definition["items"][0]["points"] = "-2"
    definition["items"][1]["points"] = "两分"
    del definition["items"][2]["name"]
    definition["period"] = "week"
    response = await client.put(
        f"/api/v1/schemes/{attached.json()['id']}",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert (response.status_code, response.json()["code"]) == (422, "scheme_invalid")
    reasons = {problem["field"]: problem["reason"] for problem in response.json()["detail"]}
    assert reasons == {
        "items.0.points": "「事项」第 1 项「分值」应大于 0",
        "items.1.points": "「事项」第 2 项「分值」应为数字",
        "items.2.name": "「事项」第 3 项「名称」为必填项",
        "period": "「考核周期」只能是 'month'、'two_months'、'quarter'、'half_year'、'year'",
    }
    assert "Input should" not in response.text


async def test_a_whole_scheme_problem_is_said_in_chinese_at_the_field_it_concerns(
    client: httpx.AsyncClient, org: Org
) -> None:
    attached = await attach(client, org, "town", "university")
    assert attached.status_code == 201, attached.text
    definition = PRESETS["university"].model_dump(mode="json")
    definition["items"][0]["max_points"] = "8"
    definition["tiering"]["bands"][1]["min"] = "95"
    response = await client.put(
        f"/api/v1/schemes/{attached.json()['id']}",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert (response.status_code, response.json()["code"]) == (422, "scheme_invalid")
    assert response.json()["detail"] == [
        {
            "field": "items.0.points",
            "reason": "「事项」第 1 项「分值」："
            "事项 'course_failed' 的「分值」与「最低分」「最高分」只能填一种",
        },
        {
            "field": "tiering.bands.1.min",
            "reason": "「等次评定」「分数段」第 2 项「下限」："
            "分数段应按「下限」从高到低排列，95 不低于上一段的 95",
        },
    ]


async def test_unknown_preset_is_a_404(client: httpx.AsyncClient, org: Org) -> None:
    response = await attach(client, org, "town", "atlantis")
    assert response.status_code == 404
    assert response.json()["code"] == "preset_not_found"


async def test_a_unit_inherits_the_nearest_scheme(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    assert (await attach(client, org, "branch_b", "heyang")).status_code == 201
    a1 = await client.get(
        f"/api/v1/org/units/{org.unit_id('group_a1')}/schemes/member",
        headers=org.headers("member_a1"),
    )
    assert a1.json()["definition"]["slug"] == "lutou"
    b1 = await client.get(
        f"/api/v1/org/units/{org.unit_id('group_b1')}/schemes/member",
        headers=org.headers("member_b1"),
    )
    assert b1.json()["definition"]["slug"] == "heyang"
    outside = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_c')}/schemes/member",
        headers=org.headers("member_a1"),
    )
    assert outside.status_code == 404


async def test_a_members_own_screens_follow_the_nearest_scheme_from_the_next_request(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    """The score, the home screen and the declarable items read the scheme in force at the
    member's unit with their principal: a branch scheme attached in between takes over at once,
    and a member with none in force is told so."""

    async def shown(who: str) -> list[str]:
        headers = org.headers(who)
        score = await client.get(f"/api/v1/members/{org.id(who)}/score", headers=headers)
        home = await client.get("/api/v1/me/home", headers=headers)
        items = await client.get("/api/v1/claims/declarable-items", headers=headers)
        for response in (score, home, items):
            assert response.status_code == 200, response.text
        return [score.json()["scheme"], home.json()["score"]["scheme"], items.json()["scheme"]]

    assert await shown("member_b1") == [PRESETS["lutou"].name] * 3
    assert (await attach(client, org, "branch_b", "heyang")).status_code == 201
    assert await shown("member_b1") == [PRESETS["heyang"].name] * 3
    assert await shown("member_a1") == [PRESETS["lutou"].name] * 3

    headers = org.headers("member_c")  # under another town, which has no member scheme
    score = await client.get(f"/api/v1/members/{org.id('member_c')}/score", headers=headers)
    assert (score.status_code, score.json()["code"]) == (404, "scheme_not_found")
    home = await client.get("/api/v1/me/home", headers=headers)
    assert (home.status_code, home.json()["period"], home.json()["score"]) == (200, None, None)


async def test_a_unit_lists_every_scheme_in_force_over_it(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/schemes"
    alone = await client.get(url, headers=org.headers("secretary_a"))
    assert [s["definition"]["slug"] for s in alone.json()] == ["lutou"]
    assert (await attach(client, org, "town", "chengzhuang")).status_code == 201
    both = await client.get(url, headers=org.headers("secretary_a"))
    kinds = {s["subject_kind"]: s["definition"]["slug"] for s in both.json()}
    assert kinds == {"member": "lutou", "branch": "chengzhuang"}
    outside = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_c')}/schemes", headers=org.headers("member_a1")
    )
    assert outside.status_code == 404


async def test_every_version_of_a_scheme_is_listed_with_who_adopted_it(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    revised = await client.put(
        f"/api/v1/schemes/{lutou}", json={"preset": "heyang"}, headers=org.headers("admin")
    )
    assert revised.status_code == 200, revised.text
    listed = await client.get(f"/api/v1/schemes/{lutou}/versions", headers=org.headers("member_a1"))
    assert listed.status_code == 200, listed.text
    versions = [(v["version"], v["created_by"], v["definition"]["slug"]) for v in listed.json()]
    assert versions == [(2, "admin", "heyang"), (1, "admin", "lutou")]
    outsider = await client.get(f"/api/v1/schemes/{lutou}/versions", headers=org.headers("admin2"))
    assert outsider.status_code == 404


async def test_adjustment_shows_in_the_live_score_with_its_derivation(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    created = await adjust(client, org, "member_a1", "village_cleaning")
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["points"], entry["source"]) == ("2.00", "adjustment")
    live = await score(client, org, "member_a1", who="member_a1")
    assert live.status_code == 200
    body = live.json()
    assert body["period_key"] == f"{shanghai_today().year}-{shanghai_today().month:02d}"
    assert body["result"]["total"] == "62.00"
    steps = body["result"]["derivation"]
    assert any(entry["id"] in step["entry_ids"] for step in steps)
    neighbour = await score(client, org, "member_a1", who="member_a1b")
    assert neighbour.status_code == 404


@pytest.mark.parametrize(
    ("item", "points", "extra", "status", "code"),
    [
        ("no_such_item", None, {}, 400, "item_not_in_scheme"),
        ("lead_to_prosperity", "50", {}, 400, "points_out_of_range"),
        ("village_cleaning", "3", {}, 400, "points_out_of_range"),
        ("village_cleaning", None, {"reason": ""}, 422, "validation_error"),
        (
            "village_cleaning",
            None,
            {"occurred_on": (shanghai_today() + timedelta(days=2)).isoformat()},
            400,
            "future_date",
        ),
    ],
)
async def test_bad_adjustments_get_clear_errors(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    item: str,
    points: str | None,
    extra: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = await adjust(client, org, "member_a1", item, points, **extra)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_only_admins_adjust_points(client: httpx.AsyncClient, org: Org, lutou: int) -> None:
    assert (
        await adjust(client, org, "member_a1", "village_cleaning", who="secretary_a")
    ).status_code == 403
    assert (
        await adjust(client, org, "member_a1", "village_cleaning", who="admin2")
    ).status_code == 404
    assert (
        await adjust(client, org, "member_a1", "village_cleaning", who="member_a1")
    ).status_code == 403


async def test_close_publish_and_who_sees_what(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"

    assert (
        await client.post(f"{url}/close", headers=org.headers("secretary_a"))
    ).status_code == 403
    closed = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["subjects"] == 10
    again = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert again.status_code == 409
    assert again.json()["code"] == "period_already_closed"

    late = await adjust(client, org, "member_a1", "village_cleaning")
    assert late.status_code == 409
    assert late.json()["code"] == "period_closed"

    hidden = await client.get(f"{url}/results", headers=org.headers("member_a1"))
    assert hidden.status_code == 403
    assert hidden.json()["code"] == "results_not_published"
    leader = await client.get(
        f"{url}/results",
        params={"unit_id": org.unit_id("group_a1")},
        headers=org.headers("leader_a1"),
    )
    assert leader.status_code == 200
    assert leader.json()["items"][0]["member_id"] == org.id("member_a1")
    assert leader.json()["total"] == 3

    published = await client.post(f"{url}/publish", headers=org.headers("admin"))
    assert published.json()["status"] == "published"
    told = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    assert told.json()["items"][0]["kind"] == "period_result"
    assert told.json()["items"][0]["data"]["total"] == "62.00"
    board = await client.get(f"{url}/results", headers=org.headers("member_a1"))
    assert board.status_code == 200
    top = board.json()["items"][0]
    assert (top["member_id"], top["total"]) == (org.id("member_a1"), "62.00")
    mine = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("member_a1")
    )
    assert mine.json()["result"]["derivation"]
    other = await client.get(
        f"{url}/results/members/{org.id('member_a2')}", headers=org.headers("member_a1")
    )
    assert other.status_code == 404


async def test_reopen_needs_an_admin_and_a_reason_and_keeps_the_old_snapshot(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    assert (
        await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    ).status_code == 200

    no_reason = await client.post(f"{url}/reopen", json={}, headers=org.headers("admin"))
    assert no_reason.status_code == 422
    by_secretary = await client.post(
        f"{url}/reopen", json={"reason": "漏记一项"}, headers=org.headers("secretary_a")
    )
    assert by_secretary.status_code == 403
    reopened = await client.post(
        f"{url}/reopen", json={"reason": "漏记一项加分"}, headers=org.headers("admin")
    )
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"

    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    closed = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.json()["period"]["close_count"] == 2
    async with sessionmaker() as session:
        snapshots = await session.scalars(
            select(PeriodResult.close_no).where(col(PeriodResult.member_id) == org.id("member_a1"))
        )
        assert sorted(snapshots) == [1, 2]
        audit = await session.scalar(
            select(AuditRecord).where(col(AuditRecord.action) == "period_reopen")
        )
        assert audit is not None
        assert (audit.reason, audit.actor_id) == ("漏记一项加分", org.id("admin"))
    latest = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("admin")
    )
    assert latest.json()["total"] == "64.00"


async def test_a_reversal_cancels_an_entry_once_and_keeps_both_rows(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    entry = (await adjust(client, org, "member_a1", "negative_conduct", "4")).json()
    assert (await score(client, org, "member_a1", "admin")).json()["result"]["total"] == "56.00"
    url = f"/api/v1/entries/{entry['id']}/reversal"
    reversed_ = await client.post(url, json={"reason": "申诉成立"}, headers=org.headers("admin"))
    assert reversed_.status_code == 201, reversed_.text
    assert (reversed_.json()["points"], reversed_.json()["reverses_id"]) == ("-4.00", entry["id"])
    twice = await client.post(url, json={"reason": "再次冲正"}, headers=org.headers("admin"))
    assert twice.status_code == 409
    assert twice.json()["code"] == "entry_already_reversed"
    assert (await score(client, org, "member_a1", "admin")).json()["result"]["total"] == "60.00"
    ledger = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/entries", headers=org.headers("member_a1")
    )
    assert ledger.json()["total"] == 2
    reasons = {e["reason"] for e in ledger.json()["items"]}
    assert reasons == {"参加村庄清洁行动", "申诉成立"}
    outsider = await client.post(url, json={"reason": "越权"}, headers=org.headers("admin2"))
    assert outsider.status_code == 404


async def test_what_if_reports_who_moves_and_writes_nothing(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    assert (await adjust(client, org, "member_a2", "negative_conduct", "8")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    assert (
        await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    ).status_code == 200
    async with sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(PeriodResult))

    draft = PRESETS["lutou"].model_dump(mode="json")
    draft["items"] = [
        {**item, "points": "10"} if item["code"] == "village_cleaning" else item
        for item in draft["items"]
    ]
    for item in draft["items"]:
        if item["code"] == "village_cleaning":
            item["cap_per_period"] = "20"
    response = await client.post(
        f"{url}/what-if", json={"definition": draft}, headers=org.headers("admin")
    )
    assert response.status_code == 200, response.text
    changed = {c["subject_id"]: c for c in response.json()["changed"]}
    assert set(changed) == {org.id("member_a1")}
    assert (
        changed[org.id("member_a1")]["total_before"],
        changed[org.id("member_a1")]["total_after"],
    ) == ("62.00", "70.00")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(PeriodResult)) == before
    member = await client.post(
        f"{url}/what-if", json={"preset": "lutou"}, headers=org.headers("member_a1")
    )
    assert member.status_code == 403


async def test_what_if_refuses_a_draft_of_another_period_length(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    response = await client.post(
        f"{url}/what-if", json={"preset": "nitun"}, headers=org.headers("admin")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "period_mismatch"


async def test_a_lower_units_own_scheme_takes_its_members_out_of_the_town_close(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    assert (await attach(client, org, "branch_b", "heyang")).status_code == 201
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    closed = await client.post(
        f"/api/v1/periods/{period['id']}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert closed.json()["subjects"] == 8


async def test_branches_are_assessed_and_ranked_with_prizes(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await attach(client, org, "town", "yongxi")
    assert response.status_code == 201
    scheme_id = response.json()["id"]
    scores = {"branch_a": ("party_building", "20"), "branch_b": ("party_building", "12")}
    for branch, (item, points) in scores.items():
        for code, value in (
            (item, points),
            ("poverty_alleviation", "15"),
            ("family_planning", "10"),
            ("social_governance", "10"),
            ("work_safety", "10"),
            ("civil_affairs", "10"),
            ("village_stationed", "10"),
            ("sanitation", "5"),
            ("finance_tax", "5"),
            ("clean_governance", "5"),
        ):
            created = await client.post(
                f"/api/v1/org/units/{org.unit_id(branch)}/assessments",
                json={
                    "item_code": code,
                    "points": value,
                    "occurred_on": shanghai_today().isoformat(),
                    "reason": "季度考核",
                },
                headers=org.headers("admin"),
            )
            assert created.status_code == 201, created.text
    by_secretary = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "sanitation",
            "points": "5",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "自评",
        },
        headers=org.headers("secretary_a"),
    )
    assert by_secretary.status_code == 403
    period = await current_period(client, org, scheme_id)
    url = f"/api/v1/periods/{period['id']}"
    closed = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.json()["subjects"] == 2
    results = (await client.get(f"{url}/results", headers=org.headers("admin"))).json()["items"]
    first, second = results
    assert (first["branch_id"], first["total"]) == (org.unit_id("branch_a"), "100.00")
    assert first["result"]["prize"] == "600.00"
    assert "red_flag" in first["result"]["flags"]
    assert (second["total"], second["result"]["prize"]) == ("92.00", "250.00")


async def assess(client: httpx.AsyncClient, org: Org, branch: str, item: str, points: str) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id(branch)}/assessments",
        json={
            "item_code": item,
            "points": points,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text


async def set_category(
    client: httpx.AsyncClient, org: Org, unit: str, category: str | None, who: str = "admin"
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/org/units/{org.unit_id(unit)}",
        json={"category": category},
        headers=org.headers(who),
    )


async def test_a_branchs_category_gives_the_chengzhuang_secretary_his_pay(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await attach(client, org, "town", "chengzhuang")
    assert response.status_code == 201, response.text
    scheme_id = response.json()["id"]
    for branch in ("branch_a", "branch_b"):
        for item in ("key_two_duties", "key_eight_rules", "key_three_meetings", "key_safety"):
            await assess(client, org, branch, item, "9")
        await assess(client, org, branch, "key_stability", "9")
        for item in ("basic_study", "basic_org_life", "basic_dues"):
            await assess(client, org, branch, item, "10")
    assert (
        await set_category(client, org, "branch_a", "second_line", "secretary_a")
    ).status_code == 403
    unknown = await set_category(client, org, "branch_a", "一线")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unit_category_invalid")
    assert unknown.json()["detail"]["categories"] == ["frontline", "second_line", "surface"]
    assert (await set_category(client, org, "group_a1", "surface")).json()["code"] == "not_a_branch"
    assert (await set_category(client, org, "branch_c", "surface")).status_code == 404
    updated = await set_category(client, org, "branch_a", "second_line")
    assert updated.status_code == 200, updated.text
    assert updated.json()["category"] == "second_line"

    period = await current_period(client, org, scheme_id)
    url = f"/api/v1/periods/{period['id']}"
    closed = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text
    results = (await client.get(f"{url}/results", headers=org.headers("admin"))).json()["items"]
    by_branch = {row["branch_id"]: row["result"] for row in results}
    paid = by_branch[org.unit_id("branch_a")]
    assert (paid["total"], paid["tier"], paid["coefficient"]) == ("75.00", "step_1", "0.8")
    assert Decimal(paid["coefficient_pay"]) == Decimal("1600")  # 2000 (second line) × 0.8
    assert by_branch[org.unit_id("branch_b")]["coefficient_pay"] is None  # no category set


async def test_a_member_scheme_cannot_take_branch_assessments(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "sanitation",
            "points": "5",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "scheme_not_found"


def test_today_is_cut_in_shanghai() -> None:
    from datetime import UTC, datetime

    assert today_in_shanghai(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == date(2026, 4, 1)


async def test_a_revision_is_a_new_version_and_a_closed_period_keeps_its_version(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    draft = PRESETS["lutou"].model_dump(mode="json")
    draft["scoring"]["base"] = "70"
    revised = await client.put(
        f"/api/v1/schemes/{lutou}", json={"definition": draft}, headers=org.headers("admin")
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2
    kept = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("admin")
    )
    assert kept.json()["total"] == "62.00"
    live = await score(client, org, "member_a2", "admin")
    assert live.json()["result"]["total"] == "70.00"
    other_kind = await client.put(
        f"/api/v1/schemes/{lutou}", json={"preset": "yongxi"}, headers=org.headers("admin")
    )
    assert other_kind.status_code == 400
    assert other_kind.json()["code"] == "subject_kind_mismatch"
    by_secretary = await client.put(
        f"/api/v1/schemes/{lutou}", json={"preset": "lutou"}, headers=org.headers("secretary_a")
    )
    assert by_secretary.status_code == 403


async def test_the_period_length_changes_only_while_no_period_is_open(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    """A month scheme revised to half years while a month was open broke that month's close,
    export and what-if: refused then; once the months are closed, they stay readable."""
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    half_year = PRESETS["lutou"].model_dump(mode="json") | {"period": "half_year"}
    scheme_url = f"/api/v1/schemes/{lutou}"
    refused = await client.put(
        scheme_url, json={"definition": half_year}, headers=org.headers("admin")
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "scheme_period_locked"
    assert refused.json()["detail"] == {"open_periods": [period["key"]]}
    same_length = PRESETS["lutou"].model_dump(mode="json") | {"name": "路头村（修订）"}
    revised = await client.put(
        scheme_url, json={"definition": same_length}, headers=org.headers("admin")
    )
    assert revised.status_code == 200, revised.text

    closed = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text
    changed = await client.put(
        scheme_url, json={"definition": half_year}, headers=org.headers("admin")
    )
    assert changed.status_code == 200, changed.text
    month = await client.post(
        f"{url}/what-if", json={"preset": "lutou"}, headers=org.headers("admin")
    )
    assert month.status_code == 200, month.text
    half = await client.post(
        f"{url}/what-if", json={"definition": half_year}, headers=org.headers("admin")
    )
    assert (half.status_code, half.json()["code"]) == (400, "period_mismatch")
    published = await client.post(f"{url}/publish", headers=org.headers("admin"))
    assert published.status_code == 200, published.text
    board = await client.get(
        f"{url}/boards/{org.unit_id('branch_a')}", headers=org.headers("member_a1")
    )
    assert board.json()["period_label"] == f"{shanghai_today().year}年{shanghai_today().month}月"
    export = await client.get(f"{url}/exports/ranking.xlsx", headers=org.headers("admin"))
    assert export.status_code == 200
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    listed = await client.get(f"/api/v1/schemes/{lutou}/periods", headers=org.headers("admin"))
    keys = {p["key"]: p["status"] for p in listed.json()}
    half_key = f"{shanghai_today().year}-H{(shanghai_today().month - 1) // 6 + 1}"
    assert keys == {period["key"]: "published", half_key: "open"}


async def test_closes_of_the_old_period_length_are_no_history_of_the_new_one(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A month closed before the scheme turned to half years broke every later score and
    close of the scheme ("not a half_year period key"): it is no history of a half year."""
    june = await open_period(sessionmaker, lutou, date(shanghai_today().year - 1, 6, 15))
    closed = await client.post(f"/api/v1/periods/{june}/close", headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text
    half_year = PRESETS["lutou"].model_dump(mode="json") | {"period": "half_year"}
    changed = await client.put(
        f"/api/v1/schemes/{lutou}", json={"definition": half_year}, headers=org.headers("admin")
    )
    assert changed.status_code == 200, changed.text
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    score = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/score", headers=org.headers("member_a1")
    )
    assert score.status_code == 200, score.text
    half = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{half['id']}/close"
    assert (
        await client.post(url, json=EARLY_CLOSE, headers=org.headers("admin"))
    ).status_code == 200


async def test_scheme_body_needs_exactly_one_of_preset_and_definition(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={},
        headers=org.headers("admin"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_a_closed_result_explains_exactly_as_the_live_score_did(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    for item in ("village_cleaning", "village_cleaning", "flood_fighting"):
        assert (await adjust(client, org, "member_a1", item)).status_code == 201
    assert (await adjust(client, org, "member_a2", "dues_late")).status_code == 201
    live = (await score(client, org, "member_a1", "admin")).json()["result"]
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    assert (
        await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    ).status_code == 200
    closed = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("admin")
    )
    assert closed.json()["result"] == live
    kinds = [step["kind"] for step in live["derivation"]]
    assert {"start", "entry", "item_total", "points", "total", "rank"} <= set(kinds)
    listed = await client.get(f"{url}/results", headers=org.headers("admin"))
    first = listed.json()["items"][0]["result"]
    assert first == live  # the list explains each row of its page the same way

    # Reopened, the scheme revised, one more entry, closed again: the first close still
    # explains as it was (its version, its ledger rows).
    await client.post(f"{url}/reopen", json={"reason": "补录"}, headers=org.headers("admin"))
    draft = PRESETS["lutou"].model_dump(mode="json")
    draft["scoring"]["base"] = "70"
    revised = await client.put(
        f"/api/v1/schemes/{lutou}", json={"definition": draft}, headers=org.headers("admin")
    )
    assert revised.status_code == 200
    assert (await adjust(client, org, "member_a1", "civic_virtue")).status_code == 201
    await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    async with sessionmaker() as session:
        record = await session.get(PeriodRecord, period["id"])
        assert record is not None
        old = await session.scalar(
            select(PeriodResult).where(
                col(PeriodResult.member_id) == org.id("member_a1"), col(PeriodResult.close_no) == 1
            )
        )
        assert old is not None
        shown = await periods.explained(session, record, [old])
    first_close = SubjectResultOut.model_validate(to_plain(shown[old.id or 0])).model_dump(
        mode="json"
    )
    assert first_close == live


async def test_live_ranks_are_refreshed_each_minute_while_own_numbers_are_exact(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await adjust(client, org, "member_a1", "village_cleaning")).status_code == 201
    first = (await score(client, org, "member_a1", "member_a1")).json()
    assert first["result"]["ranks"]["group"] == 1
    assert first["ranked_at"] is not None  # the first request ranked the period
    # member_a1b overtakes; member_a1 loses points: own numbers move at once, ranks lag.
    for _ in range(2):
        assert (await adjust(client, org, "member_a1b", "flood_fighting")).status_code == 201
    assert (await adjust(client, org, "member_a1", "dues_late")).status_code == 201
    second = (await score(client, org, "member_a1", "member_a1")).json()
    assert second["result"]["total"] == "59.00"
    assert second["result"]["ranks"]["group"] == 1
    assert second["ranked_at"] == first["ranked_at"]
    assert await live.refresh_all(sessionmaker, utcnow()) == 1  # the worker's minute
    fresh = (await score(client, org, "member_a1", "member_a1")).json()
    assert fresh["result"]["ranks"]["group"] == 3  # behind member_a1b (70) and leader_a1 (60)
    assert fresh["ranked_at"] > first["ranked_at"]


async def test_a_close_stores_any_name_and_path_exactly(
    client: httpx.AsyncClient,
    org: Org,
    lutou: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The snapshot goes to PostgreSQL by binary COPY: text with tabs, newlines, backslashes,
    quotes and characters outside the BMP comes back as it was."""
    awkward = '王\t小"明"\\n\n\r\\ 🚩'
    async with sessionmaker() as session:
        member = await session.get(Member, org.id("member_a1"))
        assert member is not None
        member.name = awkward
        await session.commit()
    assert (await adjust(client, org, "member_a1", "negative_conduct", "2.5")).status_code == 201
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    assert (
        await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    ).status_code == 200

    async with sessionmaker() as session:
        stored = await session.scalar(
            select(PeriodResult).where(col(PeriodResult.member_id) == org.id("member_a1"))
        )
    assert stored is not None
    assert stored.result["explain"]["subject"]["name"] == awkward
    assert (stored.total, stored.result["total"]) == (Decimal("57.50"), "57.5")
    assert stored.prior["cumulative"] == "57.5"
    assert stored.created_at.tzinfo is not None
    explained = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("admin")
    )
    assert explained.status_code == 200, explained.text
    assert explained.json()["total"] == "57.50"


async def test_live_ranks_of_a_carry_over_scheme_count_the_earlier_months(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The minute's ranking skips earlier results only where scores start afresh each period;
    合阳 carries demerits over the year, so January's demerits rank February."""
    response = await attach(client, org, "town", "heyang")
    assert response.status_code == 201, response.text
    scheme_id = int(response.json()["id"])
    january = {"occurred_on": "2026-01-15"}
    assert (await adjust(client, org, "member_a1", "meeting_absent", **january)).status_code == 201
    periods_of = await client.get(
        f"/api/v1/schemes/{scheme_id}/periods", headers=org.headers("admin")
    )
    (period,) = [p for p in periods_of.json() if p["key"] == "2026-01"]
    closed = await client.post(
        f"/api/v1/periods/{period['id']}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text

    async with sessionmaker() as session:
        record = await session.get(SchemeRecord, scheme_id)
        assert record is not None
        scope = await periods.scope_of(session, record)
        february = period_from_key(PeriodLength.MONTH, "2026-02")
        placements, _ = await live.store_placements(session, scope, february)
    ranks: dict[int, Any] = {
        member: placement.ranks.get(RankScope.BRANCH) for member, placement in placements.items()
    }
    assert ranks[org.id("member_a2")] == 1
    assert ranks[org.id("member_a1")] > 1  # the 6 demerits carried over from January


def _engine_schemes() -> list[Scheme]:
    """Every scheme any preset module of the engine defines, whether registered or not."""
    found: list[Scheme] = []
    for module_info in pkgutil.iter_modules(presets.__path__):
        module = importlib.import_module(f"{presets.__name__}.{module_info.name}")
        found += [value for value in vars(module).values() if isinstance(value, Scheme)]
    return found


@pytest.mark.parametrize("scheme", _engine_schemes(), ids=lambda scheme: scheme.slug)
async def test_every_scheme_of_the_engine_is_offered_and_attaches_and_closes_a_period(
    client: httpx.AsyncClient, org: Org, scheme: Scheme
) -> None:
    listed = await client.get("/api/v1/schemes/presets", headers=org.headers("admin"))
    offered = {p["slug"]: p for p in listed.json()}
    assert offered[scheme.slug]["subject_kind"] == scheme.subject_kind
    attached = await attach(client, org, "town", scheme.slug)
    assert attached.status_code == 201, attached.text
    item = next(
        i
        for i in scheme.items
        if i.kind is not ItemKind.VETO and not i.categories and not i.statuses
    )
    body: dict[str, Any] = {
        "item_code": item.code,
        "occurred_on": shanghai_today().isoformat(),
        "reason": "预设试运行",
    }
    if item.points is None:
        body["points"] = str(item.min_points or item.max_points)
    url = (
        f"/api/v1/members/{org.id('member_a1')}/adjustments"
        if scheme.subject_kind is SubjectKind.MEMBER
        else f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments"
    )
    entry = await client.post(url, json=body, headers=org.headers("admin"))
    assert entry.status_code == 201, entry.text
    period = await current_period(client, org, int(attached.json()["id"]))
    closed = await client.post(
        f"/api/v1/periods/{period['id']}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["subjects"] > 0


async def test_decimal_points_sum_exactly_live_and_closed(
    client: httpx.AsyncClient, org: Org, lutou: int
) -> None:
    # 2.1 + 2.2 is 4.300000000000001 in binary floating point, which is how SQLite sums.
    for points in ("2.1", "2.2"):
        answer = await adjust(client, org, "member_a1", "negative_conduct", points)
        assert answer.status_code == 201, answer.text
    live = (await score(client, org, "member_a1", "admin")).json()["result"]
    assert live["item_totals"] == {"negative_conduct": "4.30"}
    assert (live["points"], live["total"]) == ("55.70", "55.70")
    entry = next(step for step in live["derivation"] if step["kind"] == "entry")
    assert (entry["value"], len(entry["entry_ids"])) == ("4.3", 2)
    period = await current_period(client, org, lutou)
    url = f"/api/v1/periods/{period['id']}"
    closing = await client.post(f"{url}/close", json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closing.status_code == 200
    closed = await client.get(
        f"{url}/results/members/{org.id('member_a1')}", headers=org.headers("admin")
    )
    assert closed.json()["result"] == live
