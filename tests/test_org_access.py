"""Scoped access: a role reaches its unit's subtree and nothing else; deny by default."""

import httpx
import pytest

from tests.conftest import Org


def members_url(org: Org, unit: str) -> str:
    return f"/api/v1/org/units/{org.unit_id(unit)}/members"


async def _names(client: httpx.AsyncClient, org: Org, who: str, unit: str) -> set[str]:
    response = await client.get(members_url(org, unit), headers=org.headers(who))
    assert response.status_code == 200, response.text
    return {m["name"] for m in response.json()["items"]}


async def test_group_leader_reads_own_group(client: httpx.AsyncClient, org: Org) -> None:
    assert await _names(client, org, "leader_a1", "group_a1") == {
        "leader_a1",
        "member_a1",
        "member_a1b",
    }


@pytest.mark.parametrize(
    ("who", "unit"),
    [
        ("leader_a1", "group_a2"),
        ("leader_a1", "branch_a"),
        ("secretary_a", "branch_b"),
        ("committee_a", "group_b1"),
        ("admin", "branch_c"),
        ("admin2", "branch_a"),
        ("member_a1", "group_a1"),
    ],
)
async def test_reads_outside_scope_are_refused(
    client: httpx.AsyncClient, org: Org, who: str, unit: str
) -> None:
    response = await client.get(members_url(org, unit), headers=org.headers(who))
    assert response.status_code == 404
    assert response.json()["code"] == "unit_not_found"


async def test_branch_committee_reads_the_whole_branch(client: httpx.AsyncClient, org: Org) -> None:
    names = await _names(client, org, "committee_a", "branch_a")
    assert {"member_a1", "member_a2", "leader_a2", "secretary_a"} <= names
    assert "member_b1" not in names


async def test_admin_reads_the_subtree_but_not_another_town(
    client: httpx.AsyncClient, org: Org
) -> None:
    names = await _names(client, org, "admin", "town")
    assert {"member_a1", "member_b1", "secretary_b"} <= names
    assert "member_c" not in names


async def test_member_reads_self_but_not_a_neighbour(client: httpx.AsyncClient, org: Org) -> None:
    own = await client.get(
        f"/api/v1/members/{org.id('member_a1')}", headers=org.headers("member_a1")
    )
    assert own.status_code == 200
    other = await client.get(
        f"/api/v1/members/{org.id('member_a1b')}", headers=org.headers("member_a1")
    )
    assert other.status_code == 404
    assert other.json()["code"] == "member_not_found"


async def test_leader_cannot_read_a_member_of_another_group(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(
        f"/api/v1/members/{org.id('member_a2')}", headers=org.headers("leader_a1")
    )
    assert response.status_code == 404


async def test_unit_list_is_limited_to_scope(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/org/units", headers=org.headers("secretary_a"))
    names = {u["name"] for u in response.json()["items"]}
    assert names == {"甲村党支部", "甲村第一党小组", "甲村第二党小组"}
    member = await client.get("/api/v1/org/units", headers=org.headers("member_a1"))
    assert member.json()["items"] == []


async def test_pagination_reports_total_and_limits_items(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(
        members_url(org, "town"), params={"page": 2, "size": 3}, headers=org.headers("admin")
    )
    body = response.json()
    assert body["total"] == 10
    assert body["page"] == 2
    assert len(body["items"]) == 3
    too_big = await client.get(
        members_url(org, "town"), params={"size": 1000}, headers=org.headers("admin")
    )
    assert too_big.status_code == 422


async def test_admin_creates_a_group_under_a_branch(client: httpx.AsyncClient, org: Org) -> None:
    body = {"parent_id": org.unit_id("branch_b"), "kind": "group", "name": "乙村第二党小组"}
    response = await client.post("/api/v1/org/units", json=body, headers=org.headers("admin"))
    assert response.status_code == 201, response.text
    unit = response.json()
    assert unit["path"] == f"{org.units['branch_b'].path}{unit['id']}/"
    again = await client.post("/api/v1/org/units", json=body, headers=org.headers("admin"))
    assert again.status_code == 409
    assert again.json()["code"] == "unit_name_taken"


async def test_a_group_cannot_hold_a_branch(client: httpx.AsyncClient, org: Org) -> None:
    body = {"parent_id": org.unit_id("group_a1"), "kind": "branch", "name": "x"}
    response = await client.post("/api/v1/org/units", json=body, headers=org.headers("admin"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parent_unit"


async def test_secretary_cannot_create_units(client: httpx.AsyncClient, org: Org) -> None:
    body = {"parent_id": org.unit_id("branch_a"), "kind": "group", "name": "新小组"}
    response = await client.post("/api/v1/org/units", json=body, headers=org.headers("secretary_a"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_admin_appoints_and_revokes_a_group_leader(
    client: httpx.AsyncClient, org: Org
) -> None:
    url = f"/api/v1/org/units/{org.unit_id('group_a1')}/roles"
    appointed = await client.post(
        url,
        json={"member_id": org.id("member_a1"), "role": "group_leader"},
        headers=org.headers("admin"),
    )
    assert appointed.status_code == 201, appointed.text
    as_leader = await client.get(members_url(org, "group_a1"), headers=org.headers("member_a1"))
    assert as_leader.status_code == 200
    revoked = await client.delete(
        f"/api/v1/org/roles/{appointed.json()['id']}", headers=org.headers("admin")
    )
    assert revoked.status_code == 204
    after = await client.get(members_url(org, "group_a1"), headers=org.headers("member_a1"))
    assert after.status_code == 404


async def test_role_must_fit_the_unit_kind(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('group_a1')}/roles",
        json={"member_id": org.id("member_a1"), "role": "branch_secretary"},
        headers=org.headers("admin"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "role_not_allowed_here"


async def test_admin_cannot_appoint_outside_the_subtree(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_c')}/roles",
        json={"member_id": org.id("member_c"), "role": "branch_secretary"},
        headers=org.headers("admin"),
    )
    assert response.status_code == 404


async def test_secretary_updates_a_member_of_the_branch_only(
    client: httpx.AsyncClient, org: Org
) -> None:
    inside = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"exempt": True, "category": "D"},
        headers=org.headers("secretary_a"),
    )
    assert inside.status_code == 200
    assert inside.json()["exempt"] is True
    outside = await client.patch(
        f"/api/v1/members/{org.id('member_b1')}",
        json={"exempt": True},
        headers=org.headers("secretary_a"),
    )
    assert outside.status_code == 404
    by_leader = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"exempt": False},
        headers=org.headers("leader_a1"),
    )
    assert by_leader.status_code == 403


async def test_member_cannot_move_into_a_unit_outside_scope(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"unit_id": org.unit_id("group_b1")},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 404


async def test_unknown_fields_in_an_update_are_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"phone": "13000000000"},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 422


async def test_members_are_found_by_part_of_a_name_or_the_start_of_a_phone(
    client: httpx.AsyncClient, org: Org
) -> None:
    async def found(**params: str) -> set[str]:
        response = await client.get(
            members_url(org, "town"), params=params, headers=org.headers("admin")
        )
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}

    assert await found(q="a1b") == {"member_a1b"}
    assert await found(q="1390000001") == {"member_b1", "admin2", "member_c"} & await found()
    assert await found(q="00000001") == set()
    assert await found(q="%") == set()


async def test_members_are_filtered_by_category(client: httpx.AsyncClient, org: Org) -> None:
    patched = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"category": "流动党员"},
        headers=org.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    response = await client.get(
        members_url(org, "town"), params={"category": "流动党员"}, headers=org.headers("admin")
    )
    assert [item["name"] for item in response.json()["items"]] == ["member_a1"]
    assert response.json()["total"] == 1
