"""Who sees which results: boards of one's own branch and above, derivations only one's own
(officers: their scope's)."""

import io
from itertools import takewhile

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import UNIT_NAMES, Org
from tests.workflow import EARLY_CLOSE, attach, shanghai_today

V1 = "/api/v1"
BRANCH_A = {"member_a1", "member_a1b", "leader_a1", "leader_a2", "member_a2", "committee_a"}
BRANCH_A |= {"secretary_a"}
# What a deduction on someone else's record would give away: its item, named in a derivation.
SECRET_ITEM = "妄议大政方针、听信传播政治谣言"


@pytest.fixture
async def published(client: httpx.AsyncClient, org: Org) -> int:
    """合阳 over town A; deductions in both branches; the month closed and published."""
    scheme_id = await attach(client, org, "heyang")
    for member, who, item in (
        ("member_a1", "secretary_a", "meeting_leave"),
        ("member_a2", "secretary_a", "improper_remarks"),
        ("member_b1", "secretary_b", "improper_remarks"),
    ):
        response = await client.post(
            f"{V1}/members/{org.id(member)}/deductions",
            json={
                "item_code": item,
                "occurred_on": shanghai_today().isoformat(),
                "reason": "支委会认定",
            },
            headers=org.headers(who),
        )
        assert response.status_code == 201, response.text
    periods = await client.get(f"{V1}/schemes/{scheme_id}/periods", headers=org.headers("admin"))
    period_id = int(periods.json()[0]["id"])
    for step, body in (("close", EARLY_CLOSE), ("publish", None)):
        done = await client.post(
            f"{V1}/periods/{period_id}/{step}", json=body, headers=org.headers("admin")
        )
        assert done.status_code == 200, done.text
    return period_id


async def results(
    client: httpx.AsyncClient, org: Org, period_id: int, who: str, **params: int
) -> dict[str, dict[str, object]]:
    response = await client.get(
        f"{V1}/periods/{period_id}/results",
        params={"size": 100, **params},
        headers=org.headers(who),
    )
    assert response.status_code == 200, response.text
    names = {org.id(name): name for name in org.members}
    return {names[row["member_id"]]: row["result"] for row in response.json()["items"]}


async def test_a_member_sees_their_branchs_board_and_only_their_own_derivation(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    shown = await results(client, org, published, "member_a1")
    # Branch A's board and the town's own (its admin sits at the town): not branch B's.
    assert set(shown) == BRANCH_A | {"admin"}
    assert shown["member_a1"]["derivation"]
    neighbour = shown["member_a2"]
    assert neighbour["total"] is not None
    assert not {"derivation", "item_totals", "actions", "points"} & set(neighbour)
    assert SECRET_ITEM not in str(shown)
    sibling = await client.get(
        f"{V1}/periods/{published}/results",
        params={"unit_id": org.unit_id("branch_b")},
        headers=org.headers("member_a1"),
    )
    assert sibling.status_code == 404

    export = await client.get(
        f"{V1}/periods/{published}/exports/ranking.xlsx", headers=org.headers("member_a1")
    )
    assert export.status_code == 200, export.text
    sheet = load_workbook(io.BytesIO(export.content), read_only=True).worksheets[0]
    # The table's rows, up to the blank row before its signature lines.
    rows = list(
        takewhile(
            lambda row: any(v is not None for v in row),
            sheet.iter_rows(min_row=4, values_only=True),
        )
    )
    assert rows
    assert {row[0] for row in rows} == {UNIT_NAMES["branch_a"], UNIT_NAMES["town"]}
    assert "member_b1" not in {row[2] for row in rows}

    boards = await client.get(f"{V1}/periods/{published}/boards", headers=org.headers("member_a1"))
    assert {b["unit_id"] for b in boards.json()} == {
        org.unit_id("branch_a"),
        org.unit_id("town"),
    }


async def test_officers_see_derivations_in_their_scope_and_boards_above_it(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    leader = await results(client, org, published, "leader_a1")
    assert set(leader) == BRANCH_A | {"admin"}
    assert leader["member_a1b"]["derivation"]  # in the leader's group
    assert "derivation" not in leader["member_a2"]  # the other group of the branch
    committee = await results(client, org, published, "committee_a")
    assert SECRET_ITEM in str(committee["member_a2"]["derivation"])
    assert "member_b1" not in committee
    town = await results(client, org, published, "admin")
    assert SECRET_ITEM in str(town["member_b1"]["derivation"])

    own = await client.get(
        f"{V1}/periods/{published}/results/members/{org.id('member_a1')}",
        headers=org.headers("member_a1"),
    )
    assert own.json()["result"]["derivation"]
    neighbour = await client.get(
        f"{V1}/periods/{published}/results/members/{org.id('member_a2')}",
        headers=org.headers("member_a1"),
    )
    assert neighbour.status_code == 404
