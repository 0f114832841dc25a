"""A full 评议 round for a branch of eight, with every role and the refusals."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import EvaluationRound, Member, PoliticalStatus, utcnow
from api.scoring.presets import PRESETS
from tests.conftest import Org

Maker = async_sessionmaker[AsyncSession]
BRANCH = (
    "secretary_a",
    "committee_a",
    "leader_a1",
    "member_a1",
    "member_a1b",
    "leader_a2",
    "member_a2",
    "member_a3",
)
CLIQUE = ("member_a1b", "leader_a2", "member_a2")


@pytest.fixture
async def scheme(client: httpx.AsyncClient, org: Org, sessionmaker: Maker) -> int:
    definition = PRESETS["xuanhua"].model_dump(mode="json")
    definition["components"] = [
        {"kind": "daily", "weight": "0.3"},
        {"kind": "self", "weight": "0.1"},
        {"kind": "mutual", "weight": "0.2"},
        {"kind": "committee", "weight": "0.2"},
        {"kind": "final", "weight": "0.2"},
    ]
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    async with sessionmaker() as session:
        member = Member(
            name="member_a3",
            phone="13900000099",
            unit_id=org.unit_id("group_a2"),
            political_status=PoliticalStatus.FULL,
            category="B",
        )
        session.add(member)
        await session.flush()
        await org.sign_in(session, "member_a3", member)
        await session.commit()
    return int(response.json()["id"])


async def rate(
    client: httpx.AsyncClient,
    org: Org,
    round_id: int,
    who: str,
    kind: str,
    subject: str,
    score: str,
    text: str | None = None,
    **parts: str,
) -> httpx.Response:
    body: dict[str, Any] = {"kind": kind, "subject_id": org.id(subject), "score": score, **parts}
    if text is not None:
        body["text"] = text
    return await client.put(
        f"/api/v1/evaluation-rounds/{round_id}/scores", json=body, headers=org.headers(who)
    )


SELF_PARTS = {
    "achievements": "按时参加组织生活，完成了帮扶承诺",
    "shortcomings": "理论学习不够深入，发言不多",
}


async def advance(
    client: httpx.AsyncClient, org: Org, round_id: int, to: str, reason: str | None = None
) -> httpx.Response:
    return await client.post(
        f"/api/v1/evaluation-rounds/{round_id}/advance",
        json={"to": to, "reason": reason},
        headers=org.headers("secretary_a"),
    )


def mutual_score(rater: str, subject: str) -> str:
    """Honest ratings between 70 and 90, except a clique that gives itself full marks."""
    if rater in CLIQUE and subject in CLIQUE:
        return "100"
    if rater in CLIQUE:
        return "75"
    return str(70 + (BRANCH.index(rater) * 3 + BRANCH.index(subject) * 5) % 21)


async def test_a_full_round_from_opening_to_the_period_score(
    client: httpx.AsyncClient, org: Org, scheme: int, sessionmaker: Maker
) -> None:
    commitment = await client.post(
        "/api/v1/commitments", json={"text": "帮扶两户困难群众"}, headers=org.headers("member_a1")
    )
    await client.post(
        f"/api/v1/commitments/{commitment.json()['id']}/decision",
        json={"decision": "approve"},
        headers=org.headers("secretary_a"),
    )
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds"
    deadline = (utcnow() + timedelta(hours=2)).isoformat()
    by_member = await client.post(
        url, json={"deadline": deadline}, headers=org.headers("member_a1")
    )
    assert by_member.status_code == 403
    opened = await client.post(url, json={"deadline": deadline}, headers=org.headers("secretary_a"))
    assert opened.status_code == 201, opened.text
    round_id = opened.json()["id"]
    assert opened.json()["kinds"] == ["self", "mutual", "committee", "final"]
    again = await client.post(url, json={"deadline": deadline}, headers=org.headers("secretary_a"))
    assert again.json()["code"] == "round_exists"

    early = await rate(client, org, round_id, "member_a1", "self", "member_a1", "80", **SELF_PARTS)
    assert early.json()["code"] == "round_state_conflict"
    assert (await advance(client, org, round_id, "collecting")).status_code == 200

    # 自评
    no_text = await rate(client, org, round_id, "member_a1", "self", "member_a1", "80")
    assert no_text.json()["code"] == "self_evaluation_incomplete"
    other = await rate(client, org, round_id, "member_a1", "self", "member_a2", "80", **SELF_PARTS)
    assert other.status_code == 403
    for name in BRANCH:
        done = await rate(client, org, round_id, name, "self", name, "85", **SELF_PARTS)
        assert done.status_code == 200, done.text

    # 互评, with its refusals
    own = await rate(client, org, round_id, "member_a1", "mutual", "member_a1", "100")
    assert own.status_code == 403
    outside = await rate(client, org, round_id, "member_a1", "mutual", "member_b1", "90")
    assert outside.status_code == 403
    too_high = await rate(client, org, round_id, "member_a1", "mutual", "member_a2", "101")
    assert too_high.json()["code"] == "score_out_of_scale"
    assert (
        await rate(client, org, round_id, "member_b1", "mutual", "member_a1", "60")
    ).status_code == 404
    for rater in BRANCH:
        if rater == "member_a3":
            continue  # has not rated yet
        for subject in BRANCH:
            if subject != rater:
                response = await rate(
                    client, org, round_id, rater, "mutual", subject, mutual_score(rater, subject)
                )
                assert response.status_code == 200, response.text

    progress_url = f"/api/v1/evaluation-rounds/{round_id}/progress"
    assert (await client.get(progress_url, headers=org.headers("member_a1"))).status_code == 403
    progress = (await client.get(progress_url, headers=org.headers("secretary_a"))).json()
    assert progress[:2] == [
        {"kind": "self", "missing": [], "unrated": [], "no_rater": [], "note": None},
        {
            "kind": "mutual",
            "missing": [org.id("member_a3")],
            "unrated": [],
            "no_rater": [],
            "note": None,
        },
    ]
    remind_url = f"/api/v1/evaluation-rounds/{round_id}/remind"
    reminded = await client.post(remind_url, headers=org.headers("secretary_a"))
    assert reminded.json() == [org.id("member_a3")]
    assert (await client.post(remind_url, headers=org.headers("secretary_a"))).status_code == 409

    async with sessionmaker() as session:
        await session.execute(
            update(EvaluationRound).values(deadline=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    late = await rate(client, org, round_id, "member_a3", "mutual", "member_a1", "80")
    assert late.json()["code"] == "round_deadline_passed"

    # 商评, after deciding to go on without member_a3's mutual ratings
    assert (await advance(client, org, round_id, "committee")).status_code == 409
    decided = await advance(client, org, round_id, "committee", "member_a3 外出务工，无法参评")
    assert decided.status_code == 200, decided.text
    back = await advance(client, org, round_id, "collecting")
    assert back.status_code == 409
    assert (
        await rate(client, org, round_id, "member_a1", "committee", "member_a2", "90")
    ).status_code == 403
    for committee in ("secretary_a", "committee_a"):
        for subject in BRANCH:
            if subject != committee:
                score = "90" if committee == "secretary_a" else "85"
                response = await rate(client, org, round_id, committee, "committee", subject, score)
                assert response.status_code == 200, response.text

    meeting = {
        "held_on": utcnow().date().isoformat(),
        "kind": "支部党员大会",
        "title": "学习党章",
        "attendance": {str(org.id("member_a1")): "present", str(org.id("member_a2")): "leave"},
    }
    meetings_url = f"/api/v1/org/units/{org.unit_id('branch_a')}/meetings"
    by_member = await client.post(meetings_url, json=meeting, headers=org.headers("member_a1"))
    assert by_member.status_code == 403
    stranger = {**meeting, "attendance": {str(org.id("member_b1")): "present"}}
    refused = await client.post(meetings_url, json=stranger, headers=org.headers("secretary_a"))
    assert refused.status_code == 403
    recorded = await client.post(meetings_url, json=meeting, headers=org.headers("secretary_a"))
    assert recorded.status_code == 201, recorded.text

    overview_url = f"/api/v1/evaluation-rounds/{round_id}/overview"
    assert (await client.get(overview_url, headers=org.headers("member_a1"))).status_code == 403
    overview = (await client.get(overview_url, headers=org.headers("secretary_a"))).json()
    assert overview["raw"] is None
    flags = [(f["kind"], f["members"], f["ratings"]) for f in overview["flags"]]
    assert flags == [("reciprocal_top", [], [])]  # the scheme does not reveal raters
    a1 = next(r for r in overview["results"] if r["member_id"] == org.id("member_a1"))
    received = sorted(
        Decimal(mutual_score(r, "member_a1")) for r in BRANCH if r not in ("member_a1", "member_a3")
    )
    trimmed = sum(received[1:-1], Decimal(0)) / len(received[1:-1])
    assert Decimal(a1["scores"]["mutual"]) == trimmed.quantize(Decimal("0.01"))
    assert (a1["scores"]["committee"], a1["proposed_final"]) == ("87.50", "87.50")
    assert a1["points"] == f"{PRESETS['xuanhua'].scoring.base:.2f}"
    assert [c["text"] for c in a1["commitments"]] == ["帮扶两户困难群众"]
    assert a1["attendance"] == {"present": 1}
    a2 = next(r for r in overview["results"] if r["member_id"] == org.id("member_a2"))
    assert a2["attendance"] == {"leave": 1}

    # 总评
    assert (await advance(client, org, round_id, "final")).status_code == 200
    by_committee = await rate(client, org, round_id, "committee_a", "final", "member_a1", "87.5")
    assert by_committee.status_code == 403
    adjusted = await rate(client, org, round_id, "secretary_a", "final", "member_a1", "90")
    assert adjusted.json()["code"] == "text_required"
    confirmed = await rate(client, org, round_id, "secretary_a", "final", "member_a1", "87.5")
    assert confirmed.status_code == 200
    changed = await rate(
        client, org, round_id, "secretary_a", "final", "member_a2", "80", "大会决定下调"
    )
    assert changed.status_code == 200
    for row in overview["results"]:
        if row["member_id"] not in (org.id("member_a1"), org.id("member_a2")):
            subject = next(name for name in BRANCH if org.id(name) == row["member_id"])
            # The branch's only secretary has his 总评 recorded by the level above.
            who = "admin" if subject == "secretary_a" else "secretary_a"
            proposed = row["proposed_final"]
            confirmed = await rate(client, org, round_id, who, "final", subject, proposed)
            assert confirmed.status_code == 200, confirmed.text

    mine_url = f"/api/v1/evaluation-rounds/{round_id}/me"
    assert (await client.get(mine_url, headers=org.headers("member_a1"))).status_code == 409
    assert (await advance(client, org, round_id, "closed")).status_code == 200
    mine = (await client.get(mine_url, headers=org.headers("member_a1"))).json()["scores"]
    assert (mine["self"], mine["committee"], mine["final"]) == ("85.00", "87.50", "87.50")

    live = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/score", headers=org.headers("member_a1")
    )
    components = live.json()["result"]["components"]
    assert (components["self"], components["final"]) == ("85.00", "87.50")
    outsider = await client.get(mine_url, headers=org.headers("member_b1"))
    assert outsider.status_code == 404


async def test_a_scheme_without_evaluation_cannot_open_a_round(
    client: httpx.AsyncClient, org: Org
) -> None:
    await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"preset": "lutou"},
        headers=org.headers("admin"),
    )
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds",
        json={"deadline": (utcnow() + timedelta(days=1)).isoformat()},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "evaluation_not_in_scheme"


async def test_commitments_are_shown_only_where_the_scheme_rates_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    await client.post(
        f"/api/v1/org/units/{org.unit_id('town')}/schemes",
        json={"preset": "nitun"},
        headers=org.headers("admin"),
    )
    filed = await client.post(
        "/api/v1/commitments", json={"text": "义务清扫街道"}, headers=org.headers("member_a1")
    )
    await client.post(
        f"/api/v1/commitments/{filed.json()['id']}/decision",
        json={"decision": "approve"},
        headers=org.headers("secretary_a"),
    )
    opened = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds",
        json={"deadline": (utcnow() + timedelta(days=1)).isoformat()},
        headers=org.headers("secretary_a"),
    )
    overview = await client.get(
        f"/api/v1/evaluation-rounds/{opened.json()['id']}/overview",
        headers=org.headers("secretary_a"),
    )
    a1 = next(r for r in overview.json()["results"] if r["member_id"] == org.id("member_a1"))
    assert a1["commitments"] == []
