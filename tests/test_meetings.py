"""组织生活 through the API, as a secretary, a member and the mini-program act: scheduling with
notices and reminders, leave requests, scan-in, and the close that decides the points (合阳)."""

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import func, update
from sqlmodel import col, select

from api.config import Settings
from api.models import (
    AuditRecord,
    CommitteeAction,
    Delivery,
    MeetingCheckin,
    Notice,
    ScoreEntry,
    WeChatAccount,
    utcnow,
)
from api.scoring.presets import PRESETS
from api.services import schedules
from api.services.ledger import today_in_shanghai
from api.services.meetings import parse_checkin_code
from api.services.meetings.codes import sign_checkin_code
from api.wechat.templates import template_data
from tests.conftest import Org, make_settings
from tests.meeting_steps import (
    LINK_BASE,
    Maker,
    act,
    begin,
    scan,
    schedule,
    scheduled,
    shown,
)
from tests.workflow import attach


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), checkin_link_base=LINK_BASE
    )


@pytest.fixture
async def heyang(client: httpx.AsyncClient, org: Org) -> int:
    return await attach(client, org, "heyang")


def phone(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from their own address (as separate phones do)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def notices(sessionmaker: Maker, kind: str) -> list[Notice]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notice).where(col(Notice.kind) == kind).order_by(col(Notice.id))
        )
        return list(rows)


async def entries(sessionmaker: Maker, org: Org, member: str) -> list[tuple[str, Decimal]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(col(ScoreEntry.item_code), col(ScoreEntry.points))
            .where(col(ScoreEntry.member_id) == org.id(member))
            .order_by(col(ScoreEntry.id))
        )
        return [(item, Decimal(points)) for item, points in rows]


async def count(sessionmaker: Maker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def ask_leave(client: httpx.AsyncClient, org: Org, who: str, meeting_id: int) -> int:
    asked = await act(
        client, org, who, f"/meetings/{meeting_id}/leave-requests", {"reason": "外出务工"}
    )
    assert asked.status_code == 201, asked.text
    return int(asked.json()["id"])


async def decide(
    client: httpx.AsyncClient, org: Org, who: str, request_id: int, decision: str, **body: Any
) -> httpx.Response:
    return await act(
        client, org, who, f"/leave-requests/{request_id}/decision", {"decision": decision, **body}
    )


def outcomes(closed: httpx.Response, org: Org) -> dict[str, tuple[str, str | None]]:
    names = {org.id(name): name for name in org.members}
    return {
        names[o["member_id"]]: (o["outcome"], o["item_code"]) for o in closed.json()["outcomes"]
    }


# --- the month of the 合阳 preset ----------------------------------------------------------------


async def test_a_month_of_meetings_closes_into_the_heyang_demerits_once(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    assembly = await scheduled(client, org, kind="支部党员大会")
    activity_day = await scheduled(client, org, kind="主题党日")
    invited = await notices(sessionmaker, "meeting_scheduled")
    assert sorted((n.member_id, n.data["meeting_id"]) for n in invited) == sorted(
        (org.id(m), meeting)
        for m in ("member_a1", "member_a1b", "member_a2")
        for meeting in (assembly, activity_day)
    )
    assert invited[0].data["kind"] == "支部党员大会"
    fields = {"thing1": "title", "thing2": "kind", "time3": "starts_at", "thing4": "place"}
    assert template_data(fields, invited[0].data)["thing4"] == {"value": "村委会二楼会议室"}

    # member_a1 asks for leave from the phone; the secretary approves.
    for meeting in (assembly, activity_day):
        request_id = await ask_leave(client, org, "member_a1", meeting)
        approved = await decide(client, org, "secretary_a", request_id, "approve")
        assert approved.json()["status"] == "approved", approved.text
    results = await notices(sessionmaker, "leave_result")
    assert [(n.member_id, n.data["status"]) for n in results] == [
        (org.id("member_a1"), "已批准")
    ] * 2
    asked = await notices(sessionmaker, "leave_requested")
    assert {n.member_id for n in asked} == {org.id("secretary_a")}

    # At the meeting: the secretary's screen shows the code; member_a1b scans it with WeChat.
    for meeting in (assembly, activity_day):
        await begin(sessionmaker, meeting)
        code = await shown(client, org, meeting)
        assert code["content"].startswith(f"{LINK_BASE}?c=")
        scanned = await scan(client, org, "member_a1b", code["content"])
        assert scanned.json()["status"] == "accepted", scanned.text

    closed = await act(client, org, "secretary_a", f"/meetings/{assembly}/close")
    assert closed.status_code == 200, closed.text
    assert outcomes(closed, org) == {
        "member_a1": ("leave", "meeting_leave"),
        "member_a1b": ("present", None),
        "member_a2": ("absent", "meeting_absent"),
    }
    retried = await act(client, org, "secretary_a", f"/meetings/{assembly}/close")
    assert retried.json() == closed.json()
    closed_day = await act(client, org, "secretary_a", f"/meetings/{activity_day}/close")
    assert outcomes(closed_day, org) == {
        "member_a1": ("leave", "activity_day_leave"),
        "member_a1b": ("present", None),
        "member_a2": ("absent", "activity_day_absent"),
    }

    assert await entries(sessionmaker, org, "member_a1") == [
        ("meeting_leave", Decimal(2)),
        ("activity_day_leave", Decimal(1)),
    ]
    assert await entries(sessionmaker, org, "member_a1b") == []
    assert await entries(sessionmaker, org, "member_a2") == [
        ("meeting_absent", Decimal(6)),
        ("activity_day_absent", Decimal(3)),
    ]
    cards = await notices(sessionmaker, "deduction_card")
    assert [(n.member_id, n.data["points"], n.data["running_points"]) for n in cards] == [
        (org.id("member_a1"), "2.00", "2.00"),
        (org.id("member_a2"), "6.00", "6.00"),
        (org.id("member_a1"), "1.00", "3.00"),
        (org.id("member_a2"), "3.00", "9.00"),
    ]
    assert cards[1].data["reason"].startswith("支部党员大会「学习党章」无故缺席")
    assert cards[1].data["next_threshold"]["at"] == "9.00"
    async with sessionmaker() as session:
        actions = await session.execute(
            select(col(CommitteeAction.member_id), col(CommitteeAction.action_code)).order_by(
                col(CommitteeAction.id)
            )
        )
        assert actions.all() == [
            (org.id("member_a2"), "reminder"),
            (org.id("member_a2"), "warning_talk"),
        ]
    thresholds = await notices(sessionmaker, "threshold")
    assert [(n.member_id, n.data["at"]) for n in thresholds] == [
        (org.id("member_a2"), "6"),
        (org.id("member_a2"), "9"),
    ]
    score = await client.get(
        f"/api/v1/members/{org.id('member_a2')}/score", headers=org.headers("member_a2")
    )
    assert score.json()["result"]["points"] == "9.00"


async def test_a_meeting_deduction_takes_the_appeal_path(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org, members=("member_a2",))
    await begin(sessionmaker, meeting)
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    [outcome] = closed.json()["outcomes"]
    appeal = await act(
        client, org, "member_a2", f"/entries/{outcome['entry_id']}/appeals", {"reason": "我请过假"}
    )
    assert appeal.status_code == 201, appeal.text
    revoked = await act(
        client,
        org,
        "committee_a",  # the secretary closed the meeting: another officer decides the appeal
        f"/appeals/{appeal.json()['id']}/decision",
        {"outcome": "revoke", "reason": "核实已请假"},
    )
    assert revoked.status_code == 200, revoked.text
    # A correction later never charges again what the appeal took back.
    await act(client, org, "secretary_a", f"/meetings/{meeting}/reopen", {"reason": "更正出勤"})
    reclosed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert reclosed.json()["outcomes"][0]["entry_id"] is None
    assert await entries(sessionmaker, org, "member_a2") == [
        ("meeting_absent", Decimal(6)),
        ("meeting_absent", Decimal(-6)),
    ]


# --- notices and reminders ------------------------------------------------------------------------


async def test_reminders_go_once_to_each_attendee_not_on_leave(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    soon = await scheduled(client, org, starts_in=timedelta(minutes=40))
    later = await scheduled(client, org, starts_in=timedelta(hours=3))
    request_id = await ask_leave(client, org, "member_a1", soon)
    await decide(client, org, "secretary_a", request_id, "approve")
    for _ in range(2):
        await schedules.run_due(sessionmaker, utcnow())
    reminders = await notices(sessionmaker, "meeting_reminder")
    assert sorted((n.member_id, n.data["meeting_id"]) for n in reminders) == [
        (org.id("member_a1b"), soon),
        (org.id("member_a2"), soon),
    ]
    await schedules.run_due(sessionmaker, utcnow() + timedelta(hours=2, minutes=30))
    reminders = await notices(sessionmaker, "meeting_reminder")
    assert sorted(n.data["meeting_id"] for n in reminders).count(later) == 3
    async with sessionmaker() as session:
        queued = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(col(Notice.kind) == "meeting_reminder")
        )
    assert queued == len(reminders) == 5


async def test_an_edit_tells_who_stays_who_comes_and_who_is_dropped(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org, members=("member_a1", "member_a2"))
    edited = await client.patch(
        f"/api/v1/meetings/{meeting}",
        json={
            "place": "党群服务中心",
            "member_ids": [org.id("member_a1"), org.id("member_a1b")],
        },
        headers=org.headers("secretary_a"),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["place"] == "党群服务中心"
    changed = await notices(sessionmaker, "meeting_changed")
    assert [(n.member_id, n.data["place"]) for n in changed] == [
        (org.id("member_a1"), "党群服务中心")
    ]
    invited = await notices(sessionmaker, "meeting_scheduled")
    assert [n.member_id for n in invited][-1] == org.id("member_a1b")
    dropped = await notices(sessionmaker, "meeting_cancelled")
    assert [n.member_id for n in dropped] == [org.id("member_a2")]
    past = await client.patch(
        f"/api/v1/meetings/{meeting}",
        json={"starts_at": (utcnow() - timedelta(hours=1)).isoformat()},
        headers=org.headers("secretary_a"),
    )
    assert past.json()["code"] == "meeting_in_past"


async def test_a_cancelled_meeting_tells_everyone_and_can_neither_close_nor_be_scanned(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    cancelled = await act(
        client, org, "secretary_a", f"/meetings/{meeting}/cancel", {"reason": "上级临时通知开会"}
    )
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    told = await notices(sessionmaker, "meeting_cancelled")
    assert sorted(n.member_id for n in told) == sorted(
        org.id(m) for m in ("member_a1", "member_a1b", "member_a2")
    )
    assert told[0].data["reason"] == "上级临时通知开会"
    await begin(sessionmaker, meeting)
    closing = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert closing.json()["code"] == "meeting_state_conflict"
    code = sign_checkin_code(client_settings(client), meeting, utcnow())
    assert (await scan(client, org, "member_a1", code.text)).json()["code"] == "checkin_closed"
    mine = await client.get("/api/v1/me/meetings", headers=org.headers("member_a1"))
    assert mine.json()["total"] == 0


def client_settings(client: httpx.AsyncClient) -> Settings:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    found: Settings = app.state.settings
    return found


# --- leave ----------------------------------------------------------------------------------------


async def test_late_leave_is_refused_unless_recorded_afterwards_with_a_reason(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    await begin(sessionmaker, meeting)
    late = await act(
        client, org, "member_a2", f"/meetings/{meeting}/leave-requests", {"reason": "临时有事"}
    )
    assert (late.status_code, late.json()["code"]) == (409, "leave_too_late")
    by_member = await act(
        client,
        org,
        "member_a1",
        f"/meetings/{meeting}/recorded-leave",
        {"member_id": org.id("member_a2"), "reason": "突发疾病住院"},
    )
    assert by_member.status_code == 403
    recorded = await act(
        client,
        org,
        "secretary_a",
        f"/meetings/{meeting}/recorded-leave",
        {"member_id": org.id("member_a2"), "reason": "突发疾病住院"},
    )
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["status"], recorded.json()["late"]) == ("approved", True)
    async with sessionmaker() as session:
        audit = await session.scalar(
            select(AuditRecord).where(col(AuditRecord.action) == "meeting_leave_recorded")
        )
    assert audit is not None
    assert (audit.actor_id, audit.reason, audit.data["member_id"]) == (
        org.id("secretary_a"),
        "突发疾病住院",
        org.id("member_a2"),
    )
    told = await notices(sessionmaker, "leave_result")
    assert [n.member_id for n in told] == [org.id("member_a2")]
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert outcomes(closed, org)["member_a2"] == ("leave", "meeting_leave")


async def test_nobody_decides_their_own_leave_and_only_who_the_scheme_names_decides(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    scheme_id = await attach(client, org, "heyang")
    meeting = await scheduled(client, org, members=("secretary_a", "member_a1"))
    own = await ask_leave(client, org, "secretary_a", meeting)
    assert (await decide(client, org, "secretary_a", own, "approve")).status_code == 403
    for outsider in ("committee_a", "admin", "member_a1"):
        assert (await decide(client, org, outsider, own, "approve")).status_code == 403
    assert (await decide(client, org, "secretary_b", own, "approve")).status_code == 404
    # The scheme names the committee admin as well: the town's admin decides the secretary's.
    definition = PRESETS["heyang"].model_dump(mode="json")
    definition["attendance"]["leave_approvers"] = ["branch_secretary", "committee_admin"]
    revised = await client.put(
        f"/api/v1/schemes/{scheme_id}",
        json={"definition": definition},
        headers=org.headers("admin"),
    )
    assert revised.status_code == 200, revised.text
    refused = await decide(client, org, "admin", own, "refuse")
    assert refused.json()["code"] == "leave_refusal_reason_required"
    refused = await decide(client, org, "admin", own, "refuse", reason="本次会议书记须主持")
    assert refused.json()["status"] == "refused", refused.text
    told = await notices(sessionmaker, "leave_result")
    assert [(n.member_id, n.data["status"], n.data["reason"]) for n in told] == [
        (org.id("secretary_a"), "未批准", "本次会议书记须主持")
    ]
    again = await decide(client, org, "admin", own, "approve")
    assert again.json()["code"] == "leave_state_conflict"


async def test_only_expected_attendees_ask_for_leave_and_only_once(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    meeting = await scheduled(client, org)
    stranger = await act(
        client, org, "leader_a2", f"/meetings/{meeting}/leave-requests", {"reason": "外出"}
    )
    assert stranger.json()["code"] == "not_expected_attendee"
    outsider = await act(
        client, org, "member_b1", f"/meetings/{meeting}/leave-requests", {"reason": "外出"}
    )
    assert outsider.json()["code"] == "meeting_not_found"
    request_id = await ask_leave(client, org, "member_a1", meeting)
    mine = (await client.get("/api/v1/me/meetings", headers=org.headers("member_a1"))).json()
    assert [
        (m["meeting"]["id"], m["leave"]["id"], m["leave"]["status"]) for m in mine["items"]
    ] == [(meeting, request_id, "pending")]
    twice = await act(
        client, org, "member_a1", f"/meetings/{meeting}/leave-requests", {"reason": "外出"}
    )
    assert twice.json()["code"] == "leave_exists"


# --- scan-in --------------------------------------------------------------------------------------


async def test_a_code_works_while_shown_once_per_member_and_only_for_attendees(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: Org,
    heyang: int,
    sessionmaker: Maker,
    settings: Settings,
) -> None:
    meeting = await scheduled(client, org, starts_in=timedelta(hours=3))
    early = await client.get(
        f"/api/v1/meetings/{meeting}/checkin-code", headers=org.headers("secretary_a")
    )
    assert early.json()["code"] == "checkin_closed"
    await begin(sessionmaker, meeting)
    code = await shown(client, org, meeting)
    assert parse_checkin_code(code["content"]) == parse_checkin_code(code["code"])

    stale = sign_checkin_code(settings, meeting, utcnow() - timedelta(seconds=65))
    expired = await scan(client, org, "member_a1", f"{LINK_BASE}?c={stale.text}")
    assert (expired.status_code, expired.json()["code"]) == (409, "checkin_code_expired")
    previous = sign_checkin_code(settings, meeting, utcnow() - timedelta(seconds=30))
    assert (await scan(client, org, "member_a1", previous.text)).json()["status"] == "accepted"

    forged = code["code"][:-2] + ("AA" if not code["code"].endswith("AA") else "BB")
    refused = await scan(client, org, "member_a1b", forged)
    assert (refused.status_code, refused.json()["code"]) == (400, "checkin_code_invalid")
    other = sign_checkin_code(settings, meeting + 1, utcnow())
    mixed = f"{meeting}.{other.slot}.{other.signature}"
    assert (await scan(client, org, "member_a1b", mixed)).json()["code"] == "checkin_code_invalid"
    for stranger in ("leader_a2", "member_b1", "admin"):
        response = await scan(client, org, stranger, code["content"])
        assert (response.status_code, response.json()["code"]) == (403, "not_expected_attendee")

    async with phone(app, "10.0.0.2") as theirs:
        first = await scan(theirs, org, "member_a2", code["content"])
        replay = await scan(theirs, org, "member_a2", code["content"])
        replay_stale = await scan(theirs, org, "member_a2", stale.text)
    assert first.json()["status"] == "accepted"
    assert replay.json() == replay_stale.json() == first.json()
    assert await count(sessionmaker, MeetingCheckin) == 2
    detail = await client.get(f"/api/v1/meetings/{meeting}", headers=org.headers("secretary_a"))
    checked = {a["member_id"]: a["checkin"] for a in detail.json()["attendees"]}
    assert checked == {
        org.id("member_a1"): "scan",
        org.id("member_a1b"): None,
        org.id("member_a2"): "scan",
    }
    own = await client.get(f"/api/v1/meetings/{meeting}", headers=org.headers("member_a2"))
    assert [a["member_id"] for a in own.json()["attendees"]] == [org.id("member_a2")]


async def test_one_phone_checking_in_for_two_members_is_flagged_not_counted(
    app: FastAPI, client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    await begin(sessionmaker, meeting)
    code = await shown(client, org, meeting)
    async with phone(app, "10.0.0.1") as mine, phone(app, "10.0.0.2") as borrowed:
        own = await scan(mine, org, "member_a1b", code["content"], device="phone-a1b")
        assert own.json()["status"] == "accepted"
        # The same phone, signed in as another member, a moment later.
        for_other = await scan(borrowed, org, "member_a2", code["content"], device="phone-a1b")
    assert for_other.status_code == 200
    assert (for_other.json()["status"], for_other.json()["flags"]) == ("flagged", ["same_device"])
    detail = await client.get(f"/api/v1/meetings/{meeting}", headers=org.headers("secretary_a"))
    flagged = {a["member_id"]: a["flags"] for a in detail.json()["attendees"] if a["flags"]}
    assert flagged == {org.id("member_a2"): ["same_device"]}
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert outcomes(closed, org)["member_a2"] == ("absent", "meeting_absent")
    assert closed.json()["flagged"] == [org.id("member_a2")]


async def test_one_wechat_account_checking_in_for_a_second_member_is_flagged(
    app: FastAPI, client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    await begin(sessionmaker, meeting)
    code = await shown(client, org, meeting)
    async with sessionmaker() as session:
        account = WeChatAccount(openid="o-shared", session_key="k", member_id=org.id("member_a1"))
        session.add(account)
        await session.commit()
    async with phone(app, "10.0.0.4") as one:
        assert (await scan(one, org, "member_a1", code["content"])).json()["flags"] == []
    # The account is bound to another member since (one ↔ one at a time), and scans again.
    async with sessionmaker() as session:
        await session.execute(
            update(WeChatAccount)
            .where(col(WeChatAccount.openid) == "o-shared")
            .values(member_id=org.id("member_a2"))
        )
        await session.commit()
    async with phone(app, "10.0.0.5") as same:
        again = await scan(same, org, "member_a2", code["content"])
    assert (again.json()["status"], again.json()["flags"]) == ("flagged", ["same_account"])


async def test_check_ins_in_a_burst_from_one_address_are_flagged(
    app: FastAPI, client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    await begin(sessionmaker, meeting)
    code = await shown(client, org, meeting)
    async with phone(app, "10.0.0.9") as one, phone(app, "10.0.0.10") as another:
        assert (await scan(one, org, "member_a1", code["content"])).json()["flags"] == []
        assert (await scan(another, org, "member_a1b", code["content"])).json()["flags"] == []
        burst = await scan(one, org, "member_a2", code["content"])
    assert (burst.json()["status"], burst.json()["flags"]) == ("flagged", ["burst"])


async def test_a_scan_from_far_away_is_flagged_and_a_location_is_required(
    app: FastAPI, client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    here = {"latitude": 35.2372, "longitude": 110.1462}
    meeting = await scheduled(client, org, location=here, checkin_radius_m=200)
    await begin(sessionmaker, meeting)
    code = (await shown(client, org, meeting))["content"]
    blind = await scan(client, org, "member_a1", code)
    assert (blind.status_code, blind.json()["code"]) == (422, "location_required")
    near = await scan(client, org, "member_a1", code, location={**here, "latitude": 35.2380})
    assert (near.json()["status"], near.json()["distance_m"]) == ("accepted", 89)
    async with phone(app, "10.0.0.3") as elsewhere:
        far = await scan(elsewhere, org, "member_a1b", code, location={**here, "latitude": 35.3372})
    assert (far.json()["status"], far.json()["flags"]) == ("flagged", ["far_away"])
    assert far.json()["distance_m"] > 11_000


async def test_the_secretary_marks_someone_present_by_hand_with_a_reason(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org, members=("secretary_a", "member_a1", "member_a2"))
    await begin(sessionmaker, meeting)
    body = {"member_id": org.id("member_a2"), "reason": "手机没电，本人到会"}
    by_member = await act(client, org, "member_a1", f"/meetings/{meeting}/present", body)
    assert by_member.status_code == 403
    itself = await act(
        client,
        org,
        "secretary_a",
        f"/meetings/{meeting}/present",
        {"member_id": org.id("secretary_a"), "reason": "本人到会"},
    )
    assert itself.status_code == 403
    marked = await act(client, org, "secretary_a", f"/meetings/{meeting}/present", body)
    assert marked.json()["checkin"] == "manual", marked.text
    again = await act(client, org, "secretary_a", f"/meetings/{meeting}/present", body)
    assert again.json() == marked.json()
    async with sessionmaker() as session:
        audits = list(
            await session.scalars(
                select(AuditRecord).where(col(AuditRecord.action) == "meeting_present")
            )
        )
    assert [(a.reason, a.data["member_id"]) for a in audits] == [
        ("手机没电，本人到会", org.id("member_a2"))
    ]
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert outcomes(closed, org)["member_a2"] == ("present", None)


# --- corrections, other schemes, the old record route ---------------------------------------------


async def test_a_reopened_meetings_corrections_are_reversals(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org)
    await begin(sessionmaker, meeting)
    await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    not_open = await act(
        client,
        org,
        "secretary_a",
        f"/meetings/{meeting}/present",
        {"member_id": org.id("member_a2"), "reason": "补签到"},
    )
    assert not_open.json()["code"] == "meeting_state_conflict"
    reopened = await act(
        client, org, "secretary_a", f"/meetings/{meeting}/reopen", {"reason": "两人实际到会"}
    )
    assert reopened.json()["status"] == "scheduled", reopened.text
    await act(
        client,
        org,
        "secretary_a",
        f"/meetings/{meeting}/present",
        {"member_id": org.id("member_a2"), "reason": "签到时手机没电"},
    )
    await act(
        client,
        org,
        "secretary_a",
        f"/meetings/{meeting}/recorded-leave",
        {"member_id": org.id("member_a1"), "reason": "会前电话请假"},
    )
    reclosed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert outcomes(reclosed, org) == {
        "member_a1": ("leave", "meeting_leave"),
        "member_a1b": ("absent", "meeting_absent"),
        "member_a2": ("present", None),
    }
    assert await entries(sessionmaker, org, "member_a2") == [
        ("meeting_absent", Decimal(6)),
        ("meeting_absent", Decimal(-6)),
    ]
    assert await entries(sessionmaker, org, "member_a1") == [
        ("meeting_absent", Decimal(6)),
        ("meeting_absent", Decimal(-6)),
        ("meeting_leave", Decimal(2)),
    ]
    assert await entries(sessionmaker, org, "member_a1b") == [("meeting_absent", Decimal(6))]
    async with sessionmaker() as session:
        reopen = await session.scalar(
            select(AuditRecord).where(col(AuditRecord.action) == "meeting_reopen")
        )
    assert reopen is not None and reopen.reason == "两人实际到会"


async def test_a_scheme_without_attendance_items_records_attendance_only(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    meeting = await scheduled(client, org, kind="party_lecture")
    await begin(sessionmaker, meeting)
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert {o["outcome"] for o in closed.json()["outcomes"]} == {"absent"}
    assert await count(sessionmaker, ScoreEntry) == 0


async def test_a_scheme_editor_adds_a_meeting_kind_and_its_mapping(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    unknown = await schedule(client, org, kind="组织生活会")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "meeting_kind_unknown")
    definition = PRESETS["heyang"].model_dump(mode="json")
    wrong = dict(definition)
    wrong["attendance"] = {
        "meeting_kinds": [{"code": "life_meeting", "name": "组织生活会"}],
        "rules": [{"meeting_kinds": ["life_meeting"], "absent_item": "volunteer_service"}],
    }
    refused = await client.put(
        f"/api/v1/schemes/{heyang}", json={"definition": wrong}, headers=org.headers("admin")
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "scheme_invalid")
    field = "「会议考勤」「规则」第 1 项「缺席扣分事项」"
    reason = f"{field}：'volunteer_service' 不是固定分值的扣分事项"
    problem = {"field": "attendance.rules.0.absent_item", "reason": reason}
    assert refused.json()["detail"] == [problem]
    right = dict(definition)
    right["attendance"] = {
        **right["attendance"],
        "meeting_kinds": [{"code": "life_meeting", "name": "组织生活会"}],
        "rules": [
            *right["attendance"]["rules"],
            {"meeting_kinds": ["life_meeting"], "absent_item": "style_notice"},
        ],
    }
    revised = await client.put(
        f"/api/v1/schemes/{heyang}", json={"definition": right}, headers=org.headers("admin")
    )
    assert revised.status_code == 200, revised.text
    meeting = await scheduled(client, org, kind="组织生活会", members=("member_a2",))
    await begin(sessionmaker, meeting)
    closed = await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    assert outcomes(closed, org) == {"member_a2": ("absent", "style_notice")}


async def test_recording_a_held_meeting_scores_it_like_a_close(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    body = {
        "held_on": utcnow().date().isoformat(),
        "kind": "党小组会",
        "title": "学习两会精神",
        "attendance": {str(org.id("member_a1")): "present", str(org.id("member_a2")): "absent"},
    }
    recorded = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/meetings",
        json=body,
        headers=org.headers("secretary_a"),
    )
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["status"], recorded.json()["kind"]) == ("closed", "group_meeting")
    assert await entries(sessionmaker, org, "member_a2") == [("meeting_absent", Decimal(6))]
    assert await entries(sessionmaker, org, "member_a1") == []


async def test_once_a_meeting_has_started_who_is_expected_and_its_kind_are_fixed(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    """The attendees and the kind decide the charges: after the start, an officer could drop
    themself to take back their own absence, or charge someone never invited. Corrections go
    by hand, one member at a time, never for oneself."""
    meeting = await scheduled(client, org, members=("member_a1", "committee_a"))
    await begin(sessionmaker, meeting)
    url = f"/api/v1/meetings/{meeting}"
    added = await client.patch(
        url,
        json={"member_ids": [org.id(m) for m in ("member_a1", "committee_a", "member_a2")]},
        headers=org.headers("secretary_a"),
    )
    assert (added.status_code, added.json()["code"]) == (409, "meeting_under_way")
    closed = await act(client, org, "committee_a", f"/meetings/{meeting}/close")
    assert outcomes(closed, org)["committee_a"] == ("absent", "meeting_absent")
    await act(client, org, "committee_a", f"/meetings/{meeting}/reopen", {"reason": "更正出勤"})
    for change in ({"member_ids": [org.id("member_a1")]}, {"kind": "党课"}):
        refused = await client.patch(url, json=change, headers=org.headers("committee_a"))
        assert (refused.status_code, refused.json()["code"]) == (409, "meeting_under_way")
    renamed = await client.patch(
        url, json={"title": "学习新党章"}, headers=org.headers("committee_a")
    )
    assert renamed.status_code == 200, renamed.text
    reclosed = await act(client, org, "committee_a", f"/meetings/{meeting}/close")
    assert outcomes(reclosed, org)["committee_a"] == ("absent", "meeting_absent")
    assert await entries(sessionmaker, org, "committee_a") == [("meeting_absent", Decimal(6))]


async def test_a_recorded_meeting_charges_no_one_at_or_above_the_recorder(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    """Outcomes typed by hand are deductions by hand: the rank rule of a deduction holds."""
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/meetings"
    body = {"held_on": utcnow().date().isoformat(), "kind": "支部党员大会", "title": "学习"}
    for outcome in ("absent", "leave"):
        attendance = {str(org.id("secretary_a")): outcome, str(org.id("member_a1")): "absent"}
        refused = await client.post(
            url, json={**body, "attendance": attendance}, headers=org.headers("committee_a")
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "role_not_below_yours")
    assert await entries(sessionmaker, org, "secretary_a") == []
    assert await entries(sessionmaker, org, "member_a1") == []
    present = {str(org.id("secretary_a")): "present", str(org.id("member_a1")): "absent"}
    recorded = await client.post(
        url, json={**body, "attendance": present}, headers=org.headers("committee_a")
    )
    assert recorded.status_code == 201, recorded.text
    assert await entries(sessionmaker, org, "member_a1") == [("meeting_absent", Decimal(6))]


# --- attendance where it is used ------------------------------------------------------------------


async def test_a_members_attendance_record_and_rate(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    for kind in ("支部党员大会", "主题党日", "党课"):
        meeting = await scheduled(client, org, kind=kind)
        await begin(sessionmaker, meeting)
        if kind != "党课":
            code = await shown(client, org, meeting)
            await scan(client, org, "member_a1b", code["content"])
        await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    unclosed = await scheduled(client, org)
    assert unclosed
    mine = await client.get("/api/v1/me/attendance", headers=org.headers("member_a1b"))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["expected"], body["present"], body["absent"]) == (3, 2, 1)
    assert body["rate_percent"] == 66.7
    assert [r["kind_name"] for r in body["records"]] == ["党课", "主题党日", "支部党员大会"]
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1b"))).json()
    shown_at_home = home["attendance"]
    assert (shown_at_home["expected"], shown_at_home["present"], shown_at_home["absent"]) == (
        3,
        2,
        1,
    )
    assert shown_at_home["rate_percent"] == 66.7
    theirs = await client.get(
        f"/api/v1/members/{org.id('member_a2')}/attendance",
        params={"period": str(utcnow().year)},
        headers=org.headers("secretary_a"),
    )
    assert (theirs.json()["present"], theirs.json()["rate_percent"]) == (0, 0.0)
    hidden = await client.get(
        f"/api/v1/members/{org.id('member_a2')}/attendance", headers=org.headers("member_a1b")
    )
    assert hidden.status_code == 404
    bad = await client.get("/api/v1/me/attendance?period=2026-13", headers=org.headers("member_a1"))
    assert (bad.status_code, bad.json()["code"]) == (422, "attendance_period_invalid")


async def test_attendance_is_exported_per_period_and_in_the_quarterly_summary(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    meeting = await scheduled(client, org, kind="主题党日")
    request_id = await ask_leave(client, org, "member_a1", meeting)
    await decide(client, org, "secretary_a", request_id, "approve")
    await begin(sessionmaker, meeting)
    await scan(client, org, "member_a1b", (await shown(client, org, meeting))["content"])
    await act(client, org, "secretary_a", f"/meetings/{meeting}/close")
    today = today_in_shanghai(utcnow())
    month = f"{today:%Y-%m}"
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/attendance.xlsx"
    response = await client.get(url, params={"period": month}, headers=org.headers("secretary_a"))
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    summary, details = (list(sheet.values) for sheet in book.worksheets)
    assert summary[2] == ("支部", "党小组", "姓名", "应到", "出席", "请假", "缺席", "出勤率")
    rows = {row[2]: row[3:] for row in summary[3:] if row[2]}
    assert rows["member_a1"] == (1, 0, 1, 0, "0.0%")
    assert rows["member_a1b"] == (1, 1, 0, 0, "100.0%")
    assert rows["member_a2"] == (1, 0, 0, 1, "0.0%")
    assert rows["secretary_a"] == (0, 0, 0, 0, None)  # no rate without a meeting
    assert ("甲村党支部合计", None, None, 3, 1, 1, 1, "33.3%") in summary
    assert sorted(row[5:] for row in details[3:]) == [
        ("member_a1", "请假", None),  # every cell of the table is there, boxed in
        ("member_a1b", "出席", "扫码签到"),
        ("member_a2", "缺席", None),
    ]
    assert details[3][:4] == (today.isoformat(), "主题党日", "学习党章", "甲村党支部")
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    card = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/quarterly-summary.xlsx",
        params={"quarter": quarter},
        headers=org.headers("secretary_a"),
    )
    sheets = load_workbook(io.BytesIO(card.content), read_only=True).worksheets
    assert [sheet.title.endswith("组织生活出勤") for sheet in sheets] == [False, True]
    assert ("甲村党支部合计", None, None, 3, 1, 1, 1, "33.3%") in list(sheets[1].values)
