"""Roles an admin can see and change: who holds what in a subtree (with names), grants and
revocations with a reason, and the hand-over of a role to a successor in one step, audited."""

from typing import Any

import httpx

from tests.conftest import Org

V1 = "/api/v1"


async def holders(
    client: httpx.AsyncClient, org: Org, who: str, unit: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"{V1}/org/units/{org.unit_id(unit)}/roles", params=params, headers=org.headers(who)
    )


def seats(response: httpx.Response) -> set[tuple[str, str, str]]:
    assert response.status_code == 200, response.text
    return {(h["member_name"], h["role_label"], h["unit_name"]) for h in response.json()["items"]}


async def assignment_of(client: httpx.AsyncClient, org: Org, member: str) -> int:
    listed = await holders(client, org, "admin", "town", size=100)
    [found] = [h["id"] for h in listed.json()["items"] if h["member_id"] == org.id(member)]
    return int(found)


async def hand_over(
    client: httpx.AsyncClient, org: Org, who: str, assignment: int, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"{V1}/org/roles/{assignment}/handover", json=body, headers=org.headers(who)
    )


async def audit(
    client: httpx.AsyncClient, org: Org, unit: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{V1}/org/units/{org.unit_id(unit)}/audit", params=params, headers=org.headers("admin")
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_role_holders_of_a_subtree_are_listed_with_names_by_role_and_page(
    client: httpx.AsyncClient, org: Org
) -> None:
    assert seats(await holders(client, org, "admin", "town")) == {
        ("admin", "党委管理员", "甲镇党委"),
        ("secretary_a", "支部书记", "甲村党支部"),
        ("committee_a", "支委", "甲村党支部"),
        ("leader_a1", "党小组长", "甲村第一党小组"),
        ("leader_a2", "党小组长", "甲村第二党小组"),
        ("secretary_b", "支部书记", "乙村党支部"),
    }
    assert seats(await holders(client, org, "secretary_a", "branch_a")) == {
        ("secretary_a", "支部书记", "甲村党支部"),
        ("committee_a", "支委", "甲村党支部"),
        ("leader_a1", "党小组长", "甲村第一党小组"),
        ("leader_a2", "党小组长", "甲村第二党小组"),
    }
    leaders = await holders(client, org, "admin", "town", role="group_leader")
    assert {h["member_name"] for h in leaders.json()["items"]} == {"leader_a1", "leader_a2"}
    first = (await holders(client, org, "admin", "town", size=4)).json()
    second = (await holders(client, org, "admin", "town", size=4, page=2)).json()
    assert (first["total"], len(first["items"]), len(second["items"])) == (6, 4, 2)
    assert not {h["id"] for h in first["items"]} & {h["id"] for h in second["items"]}


async def test_role_holders_out_of_reach_are_not_listed(
    client: httpx.AsyncClient, org: Org
) -> None:
    other_town = await holders(client, org, "admin", "town2")
    missing = await client.get(f"{V1}/org/units/999999/roles", headers=org.headers("admin"))
    assert other_town.status_code == missing.status_code == 404
    assert other_town.json()["code"] == missing.json()["code"] == "unit_not_found"
    member = await holders(client, org, "member_a1", "group_a1")
    assert member.status_code == 404


async def test_a_secretary_is_replaced_in_one_step_and_both_records_say_why(
    client: httpx.AsyncClient, org: Org
) -> None:
    assignment = await assignment_of(client, org, "secretary_a")
    done = await hand_over(
        client,
        org,
        "admin",
        assignment,
        {"member_id": org.id("member_a1b"), "reason": "换届选举产生新任书记"},
    )
    assert done.status_code == 201, done.text
    assert done.json()["member_id"] == org.id("member_a1b")
    after = seats(await holders(client, org, "admin", "branch_a", role="branch_secretary"))
    assert after == {("member_a1b", "支部书记", "甲村党支部")}
    # The former secretary holds no role any more: their next request has none.
    me = await client.get(f"{V1}/me", headers=org.headers("secretary_a"))
    assert me.json()["roles"] == []
    rows = await audit(client, org, "branch_a", action="role_handover")
    assert [(r["member_name"], r["actor_name"], r["reason"]) for r in rows] == [
        ("member_a1b", "admin", "换届选举产生新任书记"),
        ("secretary_a", "admin", "换届选举产生新任书记"),
    ]
    assert rows[1]["data"]["to_member_id"] == org.id("member_a1b")
    assert rows[0]["data"]["from_member_id"] == org.id("secretary_a")
    assert {r["unit_name"] for r in rows} == {"甲村党支部"}


async def test_a_hand_over_that_breaks_a_rule_changes_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    secretary = await assignment_of(client, org, "secretary_a")
    own = await assignment_of(client, org, "admin")
    reason = {"reason": "换届"}
    cases = [
        ("committee_a", secretary, "member_a1b", 403, "forbidden"),
        ("secretary_b", secretary, "member_a1b", 404, "role_assignment_not_found"),
        ("admin", secretary, "secretary_a", 409, "role_already_held"),
        ("admin", secretary, "admin", 403, "own_record"),
        ("admin", secretary, "member_c", 404, "member_not_found"),
        ("admin", own, "member_a1b", 403, "own_record"),
        ("admin2", secretary, "member_c", 404, "role_assignment_not_found"),
    ]
    for who, assignment, successor, status, code in cases:
        body = {"member_id": org.id(successor), **reason}
        refused = await hand_over(client, org, who, assignment, body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), (who, successor)
    unexplained = await hand_over(client, org, "admin", secretary, {"member_id": org.id("admin")})
    assert unexplained.status_code == 422
    assert seats(await holders(client, org, "admin", "branch_a", role="branch_secretary")) == {
        ("secretary_a", "支部书记", "甲村党支部")
    }
    assert await audit(client, org, "town", action="role_handover") == []


async def test_a_role_held_by_someone_at_the_actors_rank_is_not_handed_over(
    client: httpx.AsyncClient, org: Org
) -> None:
    granted = await client.post(
        f"{V1}/org/units/{org.unit_id('town')}/roles",
        json={"member_id": org.id("member_b1"), "role": "committee_admin"},
        headers=org.headers("admin"),
    )
    assert granted.status_code == 201, granted.text
    fellow = await hand_over(
        client,
        org,
        "admin",
        int(granted.json()["id"]),
        {"member_id": org.id("member_a1b"), "reason": "调整分工"},
    )
    assert (fellow.status_code, fellow.json()["code"]) == (403, "role_not_below_yours")


async def test_grants_and_revocations_are_audited_once_with_their_reason(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"member_id": org.id("member_a1"), "role": "group_leader", "reason": "增补小组长"}
    url = f"{V1}/org/units/{org.unit_id('group_a1')}/roles"
    first = await client.post(url, json=body, headers=org.headers("admin"))
    again = await client.post(url, json=body, headers=org.headers("admin"))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    short = await client.delete(
        f"{V1}/org/roles/{first.json()['id']}",
        params={"reason": "调"},
        headers=org.headers("admin"),
    )
    assert short.status_code == 422
    revoked = await client.delete(
        f"{V1}/org/roles/{first.json()['id']}",
        params={"reason": "外出务工"},
        headers=org.headers("admin"),
    )
    assert revoked.status_code == 204
    rows = await audit(client, org, "group_a1", member_id=org.id("member_a1"))
    assert [(r["action"], r["action_label"], r["reason"]) for r in rows] == [
        ("role_revoke", "免去职务", "外出务工"),
        ("role_grant", "任命职务", "增补小组长"),
    ]
    assert rows[0]["data"] == {"role": "group_leader", "unit_id": org.unit_id("group_a1")}
