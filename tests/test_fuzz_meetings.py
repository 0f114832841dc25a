"""Hostile input at the 组织生活 endpoints: scanned codes, attendee lists, coordinates, periods.

Like `test_fuzz_inputs.py`: each refusal is a clear 4xx in the API's one error shape with a
Chinese message, never a 5xx, and leaves nothing behind (no meeting, check-in or leave request).
"""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from api.config import Settings
from api.models import LeaveRequest, Meeting, MeetingCheckin, utcnow
from api.services.meetings import parse_checkin_code
from api.services.meetings.codes import MAX_SCANNED, sign_checkin_code
from tests.conftest import Org, make_settings
from tests.meeting_steps import LINK_BASE, Maker, begin, scheduled
from tests.test_fuzz_inputs import count, fuzz, refused
from tests.workflow import attach

CHECKINS = "/api/v1/checkins"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, photo_dir=str(tmp_path / "photos"), checkin_link_base=LINK_BASE
    )


@pytest.fixture
async def meeting(client: httpx.AsyncClient, org: Org, sessionmaker: Maker) -> int:
    await attach(client, org, "heyang")
    meeting_id = await scheduled(
        client,
        org,
        location={"latitude": 35.2372, "longitude": 110.1462},
        checkin_radius_m=300,
    )
    await begin(sessionmaker, meeting_id)
    return meeting_id


# --- scanned codes ---------------------------------------------------------------------------


def test_any_scanned_text_parses_to_a_code_or_to_nothing() -> None:
    texts = st.text(max_size=2 * MAX_SCANNED) | st.from_regex(
        r"https?://[a-z.]{1,20}/[a-z]{0,10}\?(c|q)=[0-9A-Za-z._%-]{0,80}", fullmatch=True
    )

    @hypothesis.settings(max_examples=300, derandomize=True, database=None)
    @hypothesis.given(texts)
    def check(text: str) -> None:
        parsed = parse_checkin_code(text)
        assert parsed is None or parse_checkin_code(parsed.text) == parsed

    check()


def test_a_code_parses_however_the_scanner_hands_it_over() -> None:
    code = sign_checkin_code(make_settings("sqlite+aiosqlite://"), 42, utcnow())
    link = f"{LINK_BASE}?c={code.text}"
    for scanned in (code.text, f"  {code.text}\n", link, quote(link, safe=""), f"{link}&from=x"):
        assert parse_checkin_code(scanned) == code, scanned
    for scanned in (f"{LINK_BASE}?d={code.text}", f"{code.text}x", "42.1.short", "?c=", "%"):
        assert parse_checkin_code(scanned) is None, scanned


async def test_bad_codes_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, org: Org, meeting: int, sessionmaker: Maker
) -> None:
    member = org.headers("member_a1")
    garbage = st.text(max_size=200) | st.from_regex(r"\d{1,12}\.\d{1,12}\.[A-Za-z0-9_-]{22}")

    async def check(text: str) -> None:
        response = await client.post(CHECKINS, json={"code": text}, headers=member)
        if text.strip() and len(text) <= 1024:
            refused(response, 400, "checkin_code_invalid")
        else:
            refused(response, 422, "validation_error", "checkin_code_invalid")

    await fuzz(garbage, check)
    too_long = await client.post(CHECKINS, json={"code": "1" * 5000}, headers=member)
    refused(too_long, 422, "validation_error")
    for body in ({"code": None}, {"code": 42}, {"code": ["a"]}, {}, {"code": "x", "extra": 1}):
        refused(await client.post(CHECKINS, json=body, headers=member), 422, "validation_error")
    assert await count(sessionmaker, MeetingCheckin) == 0


async def test_bad_coordinates_and_devices_are_refused_before_the_code_is_read(
    client: httpx.AsyncClient, org: Org, meeting: int, settings: Settings, sessionmaker: Maker
) -> None:
    code = sign_checkin_code(settings, meeting, utcnow()).text
    member = org.headers("member_a1")
    bad_locations: list[Any] = [
        {"latitude": 91, "longitude": 110},
        {"latitude": 35, "longitude": -180.5},
        {"latitude": "北纬35度", "longitude": 110},
        {"latitude": 35},
        {"latitude": 35, "longitude": 110, "altitude": 3},
        [35, 110],
        "35,110",
    ]
    for location in bad_locations:
        response = await client.post(
            CHECKINS, json={"code": code, "location": location}, headers=member
        )
        refused(response, 422, "validation_error")
    for token in ("NaN", "Infinity", "-Infinity", "1e999"):
        raw = f'{{"code": "{code}", "location": {{"latitude": {token}, "longitude": 110}}}}'
        response = await client.post(
            CHECKINS,
            content=raw.encode(),
            headers={**member, "Content-Type": "application/json"},
        )
        refused(response, 422, "validation_error")
    for device in ("", "x" * 65, "手机", "a b", "a\x00b"):
        response = await client.post(
            CHECKINS, json={"code": code, "device": device}, headers=member
        )
        refused(response, 422, "validation_error")
    assert await count(sessionmaker, MeetingCheckin) == 0


# --- scheduling and attendee lists --------------------------------------------------------------


async def test_huge_or_strange_attendee_lists_are_refused_and_nothing_is_scheduled(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "heyang")
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/meetings"
    secretary = org.headers("secretary_a")
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    past = (utcnow() - timedelta(hours=1)).isoformat()
    plan = {"kind": "党课", "title": "党课", "starts_at": soon}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**plan, "member_ids": list(range(1, 502))}, 422, "validation_error"),
        ({**plan, "member_ids": []}, 422, "validation_error"),
        ({**plan, "member_ids": [2**63]}, 403, "attendee_not_in_branch"),
        ({**plan, "member_ids": [org.id("member_b1")]}, 403, "attendee_not_in_branch"),
        ({**plan, "member_ids": [org.id("member_a1")], "unit_id": 1}, 422, "validation_error"),
        ({**plan, "unit_id": org.unit_id("group_b1")}, 404, "unit_not_found"),
        ({**plan, "starts_at": soon.replace("+00:00", "")}, 422, "validation_error"),
        ({**plan, "starts_at": "下周三"}, 422, "validation_error"),
        ({**plan, "starts_at": past}, 422, "meeting_in_past"),
        ({**plan, "kind": "茶话会"}, 422, "meeting_kind_unknown"),
        ({**plan, "kind": "x" * 33}, 422, "validation_error"),
        ({**plan, "title": "题" * 101}, 422, "validation_error"),
        ({**plan, "place": "地" * 201}, 422, "validation_error"),
        ({**plan, "checkin_radius_m": -1}, 422, "validation_error"),
        ({**plan, "location": {"latitude": -91, "longitude": 0}}, 422, "validation_error"),
        (
            {
                "held_on": utcnow().date().isoformat(),
                "kind": "党课",
                "title": "补登记",
                "attendance": {str(n): "present" for n in range(1, 502)},
            },
            422,
            "validation_error",
        ),
        (
            {
                "held_on": (utcnow() + timedelta(days=2)).date().isoformat(),
                "kind": "党课",
                "title": "补登记",
                "attendance": {},
            },
            400,
            "future_date",
        ),
    ]
    for body, status, code in cases:
        response = await client.post(url, json=body, headers=secretary)
        refused(response, status, code)
    assert await count(sessionmaker, Meeting) == 0
    nested = {**plan, "member_ids": json.loads("[" * 50 + "]" * 50)}
    refused(await client.post(url, json=nested, headers=secretary), 422, "validation_error")


async def test_leave_and_hand_marking_refuse_bad_bodies(
    client: httpx.AsyncClient, org: Org, meeting: int, sessionmaker: Maker
) -> None:
    secretary = org.headers("secretary_a")
    for body in ({}, {"reason": ""}, {"reason": "假" * 501}, {"reason": 7}):
        response = await client.post(
            f"/api/v1/meetings/{meeting}/recorded-leave",
            json={"member_id": org.id("member_a1"), **body},
            headers=secretary,
        )
        refused(response, 422, "validation_error")
    for member_id in (2**63, -1, org.id("member_b1")):
        response = await client.post(
            f"/api/v1/meetings/{meeting}/present",
            json={"member_id": member_id, "reason": "手工签到"},
            headers=secretary,
        )
        if response.status_code == 403:
            refused(response, 403, "member_not_expected")
        else:
            refused(response, 422, "validation_error")
    decision = await client.post(
        "/api/v1/leave-requests/1/decision", json={"decision": "maybe"}, headers=secretary
    )
    refused(decision, 422, "validation_error")
    assert await count(sessionmaker, LeaveRequest) == 0


async def test_bad_periods_are_refused(client: httpx.AsyncClient, org: Org) -> None:
    member = org.headers("member_a1")
    leader = org.headers("secretary_a")
    export = f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/attendance.xlsx"
    for period in ("2026-13", "2026-Q5", "2026-H0", "0000", "26-01", "今年", "2026-B7"):
        refused(
            await client.get("/api/v1/me/attendance", params={"period": period}, headers=member),
            422,
            "attendance_period_invalid",
        )
        refused(
            await client.get(export, params={"period": period}, headers=leader),
            422,
            "attendance_period_invalid",
        )
    too_long = await client.get("/api/v1/me/attendance?period=2026-010", headers=member)
    refused(too_long, 422, "validation_error")
