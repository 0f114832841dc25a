"""评议 rounds at their edges: one stage at a time, missing ratings decided on record, required
evaluations, 成绩与不足, the branch's only 支委, anonymity of flags, period keys."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import AuditRecord, EvaluationRound, utcnow
from api.scoring.presets import PRESETS
from tests.conftest import Org
from tests.workflow import attach

Maker = async_sessionmaker[AsyncSession]
BRANCH_A = (
    "secretary_a",
    "committee_a",
    "leader_a1",
    "member_a1",
    "member_a1b",
    "leader_a2",
    "member_a2",
)
SELF_PARTS = {
    "achievements": "按时参加组织生活，完成了帮扶承诺",
    "shortcomings": "理论学习不够深入，发言不多",
}


async def open_round(
    client: httpx.AsyncClient, org: Org, branch: str = "branch_a", **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/org/units/{org.unit_id(branch)}/evaluation-rounds",
        json={"deadline": (utcnow() + timedelta(hours=2)).isoformat(), **body},
        headers=org.headers("secretary_a" if branch == "branch_a" else "secretary_b"),
    )


async def advance(
    client: httpx.AsyncClient,
    org: Org,
    round_id: int,
    to: str,
    reason: str | None = None,
    who: str = "secretary_a",
) -> httpx.Response:
    body = {"to": to} if reason is None else {"to": to, "reason": reason}
    return await client.post(
        f"/api/v1/evaluation-rounds/{round_id}/advance", json=body, headers=org.headers(who)
    )


async def rate(
    client: httpx.AsyncClient,
    org: Org,
    round_id: int,
    who: str,
    kind: str,
    subject: str,
    score: str = "80",
    **extra: str,
) -> httpx.Response:
    body = {"kind": kind, "subject_id": org.id(subject), "score": score, **extra}
    return await client.put(
        f"/api/v1/evaluation-rounds/{round_id}/scores", json=body, headers=org.headers(who)
    )


async def all_rate_each_other(
    client: httpx.AsyncClient, org: Org, round_id: int, names: tuple[str, ...]
) -> None:
    for rater in names:
        for subject in names:
            if subject != rater:
                response = await rate(client, org, round_id, rater, "mutual", subject)
                assert response.status_code == 200, response.text


async def outlier_round(client: httpx.AsyncClient, org: Org, round_id: int) -> None:
    """Everyone rates everyone 80, except member_a1b, who gives everyone 40 (an outlier)."""
    for rater in BRANCH_A:
        for subject in BRANCH_A:
            if subject != rater:
                score = "40" if rater == "member_a1b" else "80"
                response = await rate(client, org, round_id, rater, "mutual", subject, score)
                assert response.status_code == 200, response.text


async def test_a_round_moves_one_stage_at_a_time_and_never_closes_unrated(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org)).json()["id"]
    # No jumping from open (no ratings at all) to closed: the committee score would be a 0.
    straight = await advance(client, org, round_id, "closed")
    assert straight.status_code == 409
    assert straight.json()["code"] == "round_stage_skipped"
    assert straight.json()["detail"] == {"current": "open", "next": "collecting"}
    assert "「自评互评」" in straight.json()["message"]
    assert (await advance(client, org, round_id, "collecting")).status_code == 200
    skip = await advance(client, org, round_id, "closed", "直接结束")
    assert skip.json()["detail"] == {"current": "collecting", "next": "committee"}
    # 宣化 requires 互评: nobody rated anybody, so no decision can leave the stage.
    unrated = await advance(client, org, round_id, "committee", "来不及了")
    assert unrated.status_code == 409
    assert unrated.json()["code"] == "round_component_unrated"
    assert sorted(unrated.json()["detail"]["unrated"]["mutual"]) == sorted(
        org.id(n) for n in BRANCH_A
    )


async def test_missing_ratings_are_left_behind_only_by_a_recorded_decision(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org)).json()["id"]
    await advance(client, org, round_id, "collecting")
    await all_rate_each_other(client, org, round_id, BRANCH_A)
    for name in BRANCH_A:
        if name != "member_a2":  # member_a2 gives no 自评, which 宣化 leaves out if missing
            response = await rate(client, org, round_id, name, "self", name, "90", **SELF_PARTS)
            assert response.status_code == 200, response.text

    undecided = await advance(client, org, round_id, "committee")
    assert undecided.status_code == 409
    assert undecided.json()["code"] == "round_ratings_missing"
    missing = {"raters": [org.id("member_a2")], "unrated": [org.id("member_a2")]}
    assert undecided.json()["detail"] == {"missing": {"self": missing}}
    reason = "member_a2 住院，无法自评"
    decided = await advance(client, org, round_id, "committee", reason)
    assert decided.status_code == 200, decided.text
    async with sessionmaker() as session:
        audit = await session.scalar(
            select(AuditRecord).where(
                col(AuditRecord.action) == "round_advance",
                col(AuditRecord.target_id) == round_id,
                col(AuditRecord.reason).is_not(None),
            )
        )
    assert audit is not None
    assert (audit.actor_id, audit.reason) == (org.id("secretary_a"), reason)
    assert audit.data["missing"] == {"self": missing}

    for officer in ("secretary_a", "committee_a"):
        for subject in BRANCH_A:
            if subject != officer:
                response = await rate(client, org, round_id, officer, "committee", subject)
                assert response.status_code == 200, response.text
    assert (await advance(client, org, round_id, "closed")).status_code == 200

    score = await client.get(
        f"/api/v1/members/{org.id('member_a2')}/score", headers=org.headers("member_a2")
    )
    result = score.json()["result"]
    assert result["missing_evaluations"] == ["self"]
    assert "self" not in result["components"]
    base = PRESETS["xuanhua"].scoring.base
    expected = (base * Decimal("0.3") + 80 * Decimal("0.3") + 80 * Decimal("0.3")) / Decimal("0.9")
    assert Decimal(result["total"]) == expected.quantize(Decimal("0.01"))


async def test_a_later_deadline_lets_the_missing_ratings_in(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org)).json()["id"]
    await advance(client, org, round_id, "collecting")
    async with sessionmaker() as session:
        await session.execute(
            update(EvaluationRound).values(deadline=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    late = await rate(client, org, round_id, "member_a1", "mutual", "member_a2")
    assert late.json()["code"] == "round_deadline_passed"
    url = f"/api/v1/evaluation-rounds/{round_id}/deadline"
    later = {"deadline": (utcnow() + timedelta(days=3)).isoformat(), "reason": "农忙，延后三天"}
    by_member = await client.put(url, json=later, headers=org.headers("member_a1"))
    assert by_member.status_code == 403
    earlier = {**later, "deadline": (utcnow() - timedelta(days=1)).isoformat()}
    refused = await client.put(url, json=earlier, headers=org.headers("secretary_a"))
    assert refused.json()["code"] == "deadline_invalid"
    extended = await client.put(url, json=later, headers=org.headers("secretary_a"))
    assert extended.status_code == 200, extended.text
    in_time = await rate(client, org, round_id, "member_a1", "mutual", "member_a2")
    assert in_time.status_code == 200, in_time.text


async def test_a_self_evaluation_says_achievements_and_shortcomings(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org)).json()["id"]
    await advance(client, org, round_id, "collecting")
    bare = await rate(client, org, round_id, "member_a1", "self", "member_a1", text="ok")
    assert bare.status_code == 422
    assert bare.json()["code"] == "self_evaluation_incomplete"
    assert "成绩与不足" in bare.json()["message"]
    thin = await rate(
        client,
        org,
        round_id,
        "member_a1",
        "self",
        "member_a1",
        achievements="完成了承诺事项，带头清扫村道",
        shortcomings="ok",
    )
    assert thin.status_code == 422
    assert thin.json()["detail"] == {"min_chars": {"shortcomings": 8}}
    done = await rate(client, org, round_id, "member_a1", "self", "member_a1", **SELF_PARTS)
    assert done.status_code == 200, done.text
    assert done.json()["text"] == (
        f"成绩：{SELF_PARTS['achievements']}\n不足：{SELF_PARTS['shortcomings']}"
    )
    not_self = await rate(client, org, round_id, "member_a1", "mutual", "member_a2", **SELF_PARTS)
    assert not_self.status_code == 422


async def test_the_only_committee_member_is_rated_by_the_level_above(
    client: httpx.AsyncClient, org: Org
) -> None:
    # 乙村: secretary_b is the branch's only 支委; his 商评 can come from no one in the branch.
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org, "branch_b")).json()["id"]
    secretary = "secretary_b"
    assert (await advance(client, org, round_id, "collecting", who=secretary)).status_code == 200
    await all_rate_each_other(client, org, round_id, ("secretary_b", "member_b1"))
    moved = await advance(client, org, round_id, "committee", "自评不计入", who=secretary)
    assert moved.status_code == 200, moved.text

    progress = await client.get(
        f"/api/v1/evaluation-rounds/{round_id}/progress", headers=org.headers(secretary)
    )
    committee = next(p for p in progress.json() if p["kind"] == "committee")
    assert committee["no_rater"] == [org.id("secretary_b")]
    assert "上级党组织评定" in committee["note"]
    assert sorted(committee["unrated"]) == sorted([org.id("secretary_b"), org.id("member_b1")])

    own = await rate(client, org, round_id, secretary, "committee", "secretary_b")
    assert own.status_code == 403
    not_theirs = await rate(client, org, round_id, "admin", "committee", "member_b1")
    assert not_theirs.status_code == 403  # member_b1 has his branch's 支委 to rate him
    above = await rate(client, org, round_id, "admin", "committee", "secretary_b", "88")
    assert above.status_code == 200, above.text
    assert (await rate(client, org, round_id, secretary, "committee", "member_b1")).is_success
    closed = await advance(client, org, round_id, "closed", who=secretary)
    assert closed.status_code == 200, closed.text


async def test_flags_name_raters_only_where_the_scheme_reveals_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")
    round_id = (await open_round(client, org)).json()["id"]
    await advance(client, org, round_id, "collecting")
    await outlier_round(client, org, round_id)
    url = f"/api/v1/evaluation-rounds/{round_id}/overview"
    for who in ("secretary_a", "admin"):
        hidden = (await client.get(url, headers=org.headers(who))).json()
        assert [(f["kind"], f["members"], f["ratings"]) for f in hidden["flags"]] == [
            ("outlier_rater", [], [])
        ]
        assert "偏离" in hidden["flags"][0]["detail"]
        assert hidden["raw"] is None


async def test_where_raters_are_revealed_nobody_sees_who_rated_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    definition = PRESETS["xuanhua"].model_dump(mode="json")
    definition["evaluation"]["reveal_raters"] = True
    attached = await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert attached.status_code == 201, attached.text
    round_id = (await open_round(client, org)).json()["id"]
    await advance(client, org, round_id, "collecting")
    await outlier_round(client, org, round_id)
    url = f"/api/v1/evaluation-rounds/{round_id}/overview"
    above = (await client.get(url, headers=org.headers("admin"))).json()
    assert [(f["kind"], f["members"]) for f in above["flags"]] == [
        ("outlier_rater", [org.id("member_a1b")])
    ]
    assert {r["rater_id"] for r in above["flags"][0]["ratings"]} == {org.id("member_a1b")}
    # The secretary is among those the outlier rated: the flag does not name him to her.
    rated = (await client.get(url, headers=org.headers("secretary_a"))).json()
    assert [(f["members"], f["ratings"]) for f in rated["flags"]] == [([], [])]
    mine = [r for r in rated["raw"] if r["subject_id"] == org.id("secretary_a")]
    others = [r for r in rated["raw"] if r["subject_id"] != org.id("secretary_a")]
    assert mine and all(r["rater_id"] is None for r in mine)
    assert others and all(r["rater_id"] is not None for r in others)


async def test_a_round_takes_only_a_period_key_of_its_scheme(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")
    for key in ("garbage", "2026-H3", "2026-Q1", "0000-H1", "9999-H2"):
        response = await open_round(client, org, period_key=key)
        assert response.status_code == 422, (key, response.text)
        assert response.json()["code"] == "period_key_invalid"
        assert response.json()["detail"]["period_key"] == key
    opened = await open_round(client, org, period_key="2026-H1")
    assert opened.status_code == 201, opened.text
    wrong_stage = await advance(client, org, opened.json()["id"], "finished")
    assert wrong_stage.status_code == 422


async def test_a_rounds_period_holds_the_schemes_length_until_it_is_closed(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    """A round is of a period of its scheme: while that period is not closed, the scheme keeps
    its length (the round's ratings would count in no period, and its overview broke)."""
    scheme_id = await attach(client, org, "xuanhua")
    opened = await open_round(client, org, period_key="2026-H1")
    assert opened.status_code == 201, opened.text
    months = PRESETS["xuanhua"].model_dump(mode="json") | {"period": "month"}
    url = f"/api/v1/schemes/{scheme_id}"
    refused = await client.put(url, json={"definition": months}, headers=org.headers("admin"))
    assert (refused.status_code, refused.json()["code"]) == (409, "scheme_period_locked")
    assert refused.json()["detail"] == {"open_periods": ["2026-H1"]}
    overview = f"/api/v1/evaluation-rounds/{opened.json()['id']}/overview"
    assert (await client.get(overview, headers=org.headers("secretary_a"))).status_code == 200


async def test_a_round_of_a_period_no_longer_the_schemes_is_shown_without_points(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    """Rounds stored before keys were checked, or of the length a scheme had before: the
    overview shows the ratings; points only where the period is the scheme's, never a 500."""
    scheme_id = await attach(client, org, "xuanhua")
    months = PRESETS["xuanhua"].model_dump(mode="json") | {"period": "month"}
    changed = await client.put(
        f"/api/v1/schemes/{scheme_id}", json={"definition": months}, headers=org.headers("admin")
    )
    assert changed.status_code == 200, changed.text
    ids = {}
    async with sessionmaker() as session:
        for key in ("2025-H1", "garbage"):
            stored = EvaluationRound(
                scheme_id=scheme_id,
                branch_id=org.unit_id("branch_a"),
                period_key=key,
                kinds=["self", "mutual"],
                deadline=utcnow(),
                created_by=org.id("secretary_a"),
            )
            session.add(stored)
            await session.flush()
            ids[key] = stored.id
        await session.commit()
    headers = org.headers("secretary_a")
    shown = await client.get(
        f"/api/v1/evaluation-rounds/{ids['2025-H1']}/overview", headers=headers
    )
    assert shown.status_code == 200, shown.text
    assert {row["points"] for row in shown.json()["results"]} == {None}
    broken = await client.get(
        f"/api/v1/evaluation-rounds/{ids['garbage']}/overview", headers=headers
    )
    assert (broken.status_code, broken.json()["code"]) == (409, "round_period_unknown")


async def test_a_branch_lists_its_rounds_to_its_members_only(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")
    first = (await open_round(client, org, period_key="2025-H2")).json()["id"]
    latest = (await open_round(client, org)).json()["id"]
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds"
    listed = await client.get(url, headers=org.headers("member_a1"))
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == [latest, first]
    stranger = await client.get(url, headers=org.headers("member_b1"))
    assert stranger.status_code == 404
