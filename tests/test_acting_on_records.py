"""Nobody acts on their own record, nor on a member holding a role at or above their own."""

from datetime import timedelta

import httpx
import pytest

from api.models import OrgUnit, utcnow
from api.scoring.presets import PRESETS
from tests.conftest import Org
from tests.fakes.wechat import FakeWeChat
from tests.workflow import attach, shanghai_today

V1 = "/api/v1"


def refused(response: httpx.Response, code: str) -> bool:
    return (response.status_code, response.json().get("code")) == (403, code)


async def appoint(client: httpx.AsyncClient, org: Org, member: str, unit: str, role: str) -> int:
    response = await client.post(
        f"{V1}/org/units/{org.unit_id(unit)}/roles",
        json={"member_id": org.id(member), "role": role},
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def deduct(
    client: httpx.AsyncClient, org: Org, who: str, member: str, item: str = "meeting_leave"
) -> httpx.Response:
    return await client.post(
        f"{V1}/members/{org.id(member)}/deductions",
        json={
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "未参加支部大会",
        },
        headers=org.headers(who),
    )


# --- item 13: nobody acts on a member who holds a role at or above their own --------------------


async def test_a_committee_member_cannot_invite_their_way_into_the_secretarys_account(
    client: httpx.AsyncClient, org: Org, wechat: FakeWeChat
) -> None:
    invite = await client.post(
        f"{V1}/members/{org.id('secretary_a')}/invite-codes", headers=org.headers("committee_a")
    )
    assert refused(invite, "role_not_below_yours"), invite.text
    # Above the secretary, the town's admin may issue it; below, a member or a group leader.
    by_admin = await client.post(
        f"{V1}/members/{org.id('secretary_a')}/invite-codes", headers=org.headers("admin")
    )
    assert by_admin.status_code == 201, by_admin.text
    for member in ("member_a1", "leader_a1"):
        below = await client.post(
            f"{V1}/members/{org.id(member)}/invite-codes", headers=org.headers("committee_a")
        )
        assert below.status_code == 201, (member, below.text)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "改名"},
        {"exempt": True},
        {"transferred_out_on": shanghai_today().isoformat()},
        {"unit_id": "group_a2"},
    ],
    ids=["edit", "exempt", "transfer", "move"],
)
async def test_a_secretary_cannot_edit_exempt_transfer_or_move_a_fellow_secretary(
    client: httpx.AsyncClient, org: Org, change: dict[str, object]
) -> None:
    await appoint(client, org, "member_a2", "branch_a", "branch_secretary")
    body = {k: org.unit_id(str(v)) if k == "unit_id" else v for k, v in change.items()}
    url = f"{V1}/members/{org.id('member_a2')}"
    fellow = await client.patch(url, json=body, headers=org.headers("secretary_a"))
    assert refused(fellow, "role_not_below_yours"), fellow.text
    invite = await client.post(f"{url}/invite-codes", headers=org.headers("secretary_a"))
    assert refused(invite, "role_not_below_yours"), invite.text
    by_admin = await client.patch(url, json=body, headers=org.headers("admin"))
    assert by_admin.status_code == 200, by_admin.text
    below = await client.patch(
        f"{V1}/members/{org.id('leader_a1')}", json=body, headers=org.headers("secretary_a")
    )
    assert below.status_code == 200, below.text


async def test_a_role_held_higher_up_the_tree_outranks_one_held_below(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    zone = await client.post(
        f"{V1}/org/units",
        json={"parent_id": org.unit_id("town"), "kind": "committee", "name": "东片区党委"},
        headers=org.headers("admin"),
    )
    assert zone.status_code == 201, zone.text
    org.units["zone"] = OrgUnit(**zone.json())
    for member in ("member_b1", "member_a1b"):
        moved = await client.patch(
            f"{V1}/members/{org.id(member)}",
            json={"unit_id": org.unit_id("zone")},
            headers=org.headers("admin"),
        )
        assert moved.status_code == 200, moved.text
    await appoint(client, org, "member_b1", "zone", "committee_admin")
    await appoint(client, org, "member_a1b", "town", "committee_admin")
    body = {
        "item_code": "volunteer_service",
        "occurred_on": shanghai_today().isoformat(),
        "reason": "调整",
    }

    async def adjust(who: str, member: str) -> httpx.Response:
        return await client.post(
            f"{V1}/members/{org.id(member)}/adjustments", json=body, headers=org.headers(who)
        )

    # The zone's admin sits below the town's: the town's admin acts on them, not the reverse,
    # even on a town admin whose own seat is in the zone.
    assert (await adjust("admin", "member_b1")).status_code == 201
    upward = await adjust("member_b1", "member_a1b")
    assert refused(upward, "role_not_below_yours"), upward.text
    # Below a branch committee member: a group leader; not a fellow member of the committee.
    assert (await deduct(client, org, "committee_a", "leader_a2")).status_code == 201
    await appoint(client, org, "member_a2", "branch_a", "branch_committee")
    fellow = await deduct(client, org, "committee_a", "member_a2")
    assert refused(fellow, "role_not_below_yours"), fellow.text


# --- item 15: nobody acts on their own record -----------------------------------------------------


@pytest.fixture
async def heyang(client: httpx.AsyncClient, org: Org) -> int:
    return await attach(client, org, "heyang")


async def test_an_admin_cannot_adjust_or_reverse_their_own_points(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    body = {
        "item_code": "volunteer_service",
        "occurred_on": shanghai_today().isoformat(),
        "reason": "自加",
    }
    own = await client.post(
        f"{V1}/members/{org.id('admin')}/adjustments", json=body, headers=org.headers("admin")
    )
    assert refused(own, "own_record"), own.text
    other = await client.post(
        f"{V1}/members/{org.id('member_a1')}/adjustments", json=body, headers=org.headers("admin")
    )
    assert other.status_code == 201, other.text
    # A deduction on the admin's record, made by an admin above the town, is not theirs to undo.
    await appoint(client, org, "member_a1b", "town", "committee_admin")
    entry = await deduct(client, org, "admin", "member_a1b")
    assert refused(entry, "role_not_below_yours"), entry.text
    mine = await deduct(client, org, "admin", "admin")
    assert refused(mine, "own_record"), mine.text


async def test_an_officer_cannot_decide_their_own_appeal_or_close_their_own_follow_up(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    entry = await deduct(client, org, "secretary_a", "committee_a", "meeting_absent")
    assert entry.status_code == 201, entry.text
    entry_id = entry.json()["entry"]["id"]
    appeal = await client.post(
        f"{V1}/entries/{entry_id}/appeals",
        json={"reason": "当天在外执行任务"},
        headers=org.headers("committee_a"),
    )
    assert appeal.status_code == 201, appeal.text
    decision_url = f"{V1}/appeals/{appeal.json()['id']}/decision"
    decision = {"outcome": "revoke", "reason": "申诉成立"}
    own = await client.post(decision_url, json=decision, headers=org.headers("committee_a"))
    assert refused(own, "own_record"), own.text

    url = f"{V1}/org/units/{org.unit_id('branch_a')}/committee-actions"
    [action] = (await client.get(url, headers=org.headers("secretary_a"))).json()["items"]
    done_url = f"{V1}/committee-actions/{action['id']}/done"
    mark = await client.post(done_url, headers=org.headers("committee_a"))
    assert refused(mark, "own_record"), mark.text
    assert (await client.post(done_url, headers=org.headers("secretary_a"))).status_code == 200
    # The secretary recorded the deduction: the appeal is the town's to decide.
    by_recorder = await client.post(decision_url, json=decision, headers=org.headers("secretary_a"))
    assert refused(by_recorder, "appeal_recusal"), by_recorder.text
    by_town = await client.post(decision_url, json=decision, headers=org.headers("admin"))
    assert by_town.status_code == 200, by_town.text
    self_deduction = await deduct(client, org, "committee_a", "committee_a")
    assert refused(self_deduction, "own_record"), self_deduction.text


async def test_a_secretary_cannot_give_themselves_a_final_evaluation(
    client: httpx.AsyncClient, org: Org
) -> None:
    definition = PRESETS["xuanhua"].model_dump(mode="json")
    definition["components"] = [
        {"kind": "daily", "weight": "0.5"},
        {"kind": "committee", "weight": "0.2", "when_unrated": "exclude"},
        {"kind": "final", "weight": "0.3", "when_unrated": "exclude"},
    ]
    scheme = await client.post(
        f"{V1}/org/units/{org.unit_id('town')}/schemes",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert scheme.status_code == 201, scheme.text
    opened = await client.post(
        f"{V1}/org/units/{org.unit_id('branch_a')}/evaluation-rounds",
        json={"deadline": (utcnow() + timedelta(days=3)).isoformat()},
        headers=org.headers("secretary_a"),
    )
    assert opened.status_code == 201, opened.text
    url = f"{V1}/evaluation-rounds/{opened.json()['id']}"

    async def rate(who: str, kind: str, subject: str) -> httpx.Response:
        body = {"kind": kind, "subject_id": org.id(subject), "score": "100", "text": "表现突出"}
        return await client.put(f"{url}/scores", json=body, headers=org.headers(who))

    async def advance(to: str) -> None:
        body = {"to": to, "reason": "其余评分不再等待"}
        moved = await client.post(f"{url}/advance", json=body, headers=org.headers("secretary_a"))
        assert moved.status_code == 200, moved.text

    await advance("committee")  # no self or mutual rating: the round skips collecting
    own_committee = await rate("secretary_a", "committee", "secretary_a")
    assert refused(own_committee, "own_record"), own_committee.text
    await advance("final")
    own_final = await rate("secretary_a", "final", "secretary_a")
    assert refused(own_final, "own_record"), own_final.text
    assert (await rate("secretary_a", "final", "member_a1")).status_code == 200
    # The branch's only secretary: the level above gives their 总评.
    assert (await rate("admin", "final", "member_a1")).status_code == 403
    assert (await rate("admin", "final", "secretary_a")).status_code == 200
