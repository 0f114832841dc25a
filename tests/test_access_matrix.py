"""The authorization matrix (`tests/access_matrix.py`), checked against the app's route table.

Every route must have an entry and every entry a route. Public routes answer without a token,
all others answer 401 without one. For every guarded route, each role of the matrix sends an
out-of-scope request (refused exactly as a request for an id that does not exist), and an
in-scope one (accepted for the roles the matrix allows, refused for all others). A route that
acts on a member's record is also tried by each allowed role on its own record and on the record
of a member holding a role at or above its own (both refused). The objects are built through
the API in a fresh database per route (notices, dead deliveries and entries on records no role
of the matrix may write to directly).
"""

import hashlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.main import API_PREFIX, ROUTED_DOMAINS
from api.main import app as api_app
from api.models import (
    CommitteeAction,
    Delivery,
    DeliveryStatus,
    EntrySource,
    LoginSession,
    Meeting,
    Member,
    Notice,
    NoticeKind,
    PoliticalStatus,
    RoleAssignment,
    id_of,
    utcnow,
)
from api.routers import health
from api.services import deductions
from api.services.ledger import NewEntry, today_in_shanghai
from tests.access_matrix import (
    CALLBACK_TOKEN,
    KNOWN_GAPS,
    MATRIX,
    MISSING,
    OTHER_KINDS,
    RECORD_KINDS,
    REVIEW_IN,
    RIVAL_SEATS,
    RIVALS,
    ROBOT_KEY,
    ROLES,
    SCHEMES,
    SCOPES,
    SERVICE_CALLBACK_TOKEN,
    UNIT_IN,
    Ctx,
    Guarded,
    Kind,
    OnRecord,
    Public,
    Role,
    Route,
    deadline,
    png,
    roster,
)
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.workflow import EARLY_CLOSE, shanghai_today

Maker = async_sessionmaker[AsyncSession]
REFUSALS = frozenset({401, 403, 404, 405, 409, 422})
DENIALS = frozenset({403, 404})
SKIPPED = 409  # a batch answers 200 and skips the item it refuses, with the item's error code
Signature = tuple[int, str | None, str | None]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        photo_dir=str(tmp_path / "photos"),
        wechat_callback_token=CALLBACK_TOKEN,
        service_callback_token=SERVICE_CALLBACK_TOKEN,
        probe_endpoint=True,
    )


# --- the route table ----------------------------------------------------------------------------


def mounted() -> list[tuple[str, APIRoute]]:
    """Every route the app includes, with its prefix: the probes' router and every domain's."""
    routers = [(health.router, ""), *((module.router, API_PREFIX) for module in ROUTED_DOMAINS)]
    found = []
    for router, prefix in routers:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            found.append((prefix, route))
    return found


def route_table() -> set[Route]:
    return {
        (method, prefix + route.path)
        for prefix, route in mounted()
        for method in (route.methods or set()) - {"HEAD"}
    }


def test_the_route_table_is_the_whole_api() -> None:
    """The walk finds every route the app documents, and documents all but hidden ones."""
    documented = {
        (method.upper(), path)
        for path, operations in api_app.openapi()["paths"].items()
        for method in operations
    }
    hidden = {
        (method, prefix + route.path)
        for prefix, route in mounted()
        if not route.include_in_schema
        for method in route.methods or ()
    }
    walked = route_table()
    assert documented - walked == set(), "routes the walk misses"
    assert walked - documented <= hidden, "routes the app does not include"


def test_every_route_has_an_entry_in_the_matrix() -> None:
    missing = sorted(route_table() - set(MATRIX))
    assert not missing, "routes without an entry in tests/access_matrix.py MATRIX:\n" + "\n".join(
        f"  {method} {path}" for method, path in missing
    )


def test_every_entry_of_the_matrix_is_a_route() -> None:
    stale = sorted(set(MATRIX) - route_table())
    assert not stale, "entries of tests/access_matrix.py MATRIX without a route:\n" + "\n".join(
        f"  {method} {path}" for method, path in stale
    )


def test_every_entry_is_well_formed() -> None:
    for route, entry in MATRIX.items():
        if isinstance(entry, Public):
            continue
        params = set(re.findall(r"{(\w+)}", route[1]))
        in_path = params & set(entry.targets)
        assert params == in_path | set(entry.fixed), route
        assert not in_path & set(entry.fixed), route
        assert entry.allowed <= set(ROLES), route
        assert set(entry.outcomes) <= entry.allowed, route
        assert entry.lists is None or entry.lists <= set(ROLES), route
        assert entry.fresh <= set(entry.targets), route
        assert entry.batch is None or entry.batch in entry.targets, route
        # a target outside the path travels in the body or the query (checked on every request)
        assert set(entry.targets) <= params or entry.body or entry.query, route


def test_every_kind_is_a_record_or_not() -> None:
    assert set(Kind) == RECORD_KINDS | OTHER_KINDS
    assert not RECORD_KINDS & OTHER_KINDS


def test_every_route_acting_on_a_member_says_so() -> None:
    """A route that changes an object of a member's record declares whether it acts on it."""
    silent = sorted(
        route
        for route, entry in MATRIX.items()
        if isinstance(entry, Guarded)
        and route[0] != "GET"
        and RECORD_KINDS & set(entry.targets.values())
        and entry.record is None
    )
    assert not silent, "routes acting on a member's object without `record=`:\n" + "\n".join(
        f"  {method} {path}" for method, path in silent
    )


def test_every_route_on_a_record_is_well_formed() -> None:
    for route, entry in MATRIX.items():
        if not isinstance(entry, Guarded) or not isinstance(entry.record, OnRecord):
            continue
        record = entry.record
        assert route[0] != "GET", route
        assert entry.targets.get(record.target) in RECORD_KINDS, route
        assert record.holders is None or record.holders <= entry.allowed, route
        if record.rank:
            assert set(record.holders or entry.allowed) <= set(RIVALS), route


def test_known_gaps_name_guarded_routes() -> None:
    for route, problems in KNOWN_GAPS.items():
        assert isinstance(MATRIX.get(route), Guarded), route
        assert problems, route


# --- the world: objects in and out of every role's scope ------------------------------------------


class Trouble(Exception):
    """Building an object failed: the matrix test cannot run, which is a failure of its own."""


class World:
    """Builds, once each (or afresh), the objects the matrix names, through the API."""

    def __init__(self, client: httpx.AsyncClient, org: Org, maker: Maker, entry: Guarded) -> None:
        self.client, self.org, self.maker, self.entry = client, org, maker, entry
        self.numbers = itertools.count(1)
        self.cache: dict[tuple[Kind, str], int | str] = {}
        self.schemes: dict[str, int] = {}
        self.branch_schemes: dict[str, int] = {}
        self.periods: dict[str, int] = {}
        self.period_state: dict[str, str] = {}

    def n(self) -> int:
        return next(self.numbers)

    async def call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.client.request(
            method, API_PREFIX + url, headers=self.org.headers(who), **kwargs
        )
        if not response.is_success:
            raise Trouble(f"{who}: {method} {url} → {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def setup(self) -> None:
        definition = SCHEMES[self.entry.flavour]
        for unit, who in (("town", "admin"), ("branch_b", "admin"), ("town2", "admin2")):
            url = f"/org/units/{self.org.unit_id(unit)}/schemes"
            scheme = await self.call(who, "POST", url, json={"definition": definition})
            self.schemes[unit] = scheme["id"]
        if self.entry.branch_schemes:
            for unit, who in (("town", "admin"), ("town2", "admin2")):
                url = f"/org/units/{self.org.unit_id(unit)}/schemes"
                scheme = await self.call(who, "POST", url, json={"preset": "yongxi"})
                self.branch_schemes[unit] = scheme["id"]

    async def target(self, kind: Kind, role: Role, inside: bool, fresh: bool = False) -> int | str:
        """The id of the role's in-scope (or out-of-scope) object of `kind`, built once."""
        owner = SCOPES[kind][0 if inside else 1][role]
        key = (kind, owner)
        if fresh or key not in self.cache:
            self.cache[key] = await self.build(kind, owner)
        return self.cache[key]

    # --- who acts for whom

    @staticmethod
    def admin_of(member: str) -> str:
        return "admin2" if member in ("member_c", "admin2") else "admin"

    @staticmethod
    def officer_of(branch: str) -> str:
        return {"branch_a": "secretary_a", "branch_b": "secretary_b", "branch_c": "admin2"}[branch]

    @staticmethod
    def member_of(branch: str) -> str:
        return {"branch_a": "member_a1", "branch_b": "member_b1", "branch_c": "member_c"}[branch]

    # --- builders

    async def build(self, kind: Kind, owner: str) -> int | str:
        org = self.org
        match kind:
            case Kind.CONSOLE_TICKET:
                return await self.console_ticket(owner)
            case Kind.LOGIN:
                return await self.login(owner)
            case Kind.MEMBER | Kind.BRANCH_MEMBER | Kind.PEER:
                return org.id(owner)
            case Kind.UNIT | Kind.BRANCH | Kind.HOME_UNIT:
                return org.unit_id(owner)
            case Kind.ASSIGNMENT:
                return await self.assignment(owner)
            case Kind.SCHEME:
                return self.schemes[owner]
            case Kind.PERIOD_OPEN:
                return await self.period(owner, "open")
            case Kind.PERIOD_CLOSED:
                return await self.period(owner, "closed")
            case Kind.PERIOD_PUBLISHED:
                return await self.period(owner, "published")
            case Kind.BRANCH_PERIOD:
                return await self.branch_period(owner)
            case Kind.ENTRY:
                return await self.entry_of(owner)
            case Kind.CLAIM | Kind.CLAIM_REVIEW | Kind.OWN_CLAIM:
                member, item = owner.split(":")
                return await self.claim(member, item)
            case Kind.APPEAL:
                # Recorded by an officer outside the matrix's roles: whoever records a
                # deduction steps aside from its appeal (`appeal_recusal`).
                recorder = "admin2_b" if self.admin_of(owner) == "admin2" else "secretary_b"
                await self.seat(recorder)
                entry_id = await self.entry_direct(owner, recorder=recorder)
                appeal = await self.call(
                    owner, "POST", f"/entries/{entry_id}/appeals", json={"reason": "记分有误"}
                )
                return int(appeal["id"])
            case Kind.ACTION:
                return await self.action(owner)
            case Kind.PHOTO | Kind.OWN_PHOTO:
                files = {"file": ("p.png", png(1000 + self.n()))}
                return int((await self.call(owner, "POST", "/photos", files=files))["id"])
            case Kind.NOTICE:
                return id_of(await self.notice(owner))
            case Kind.DEAD_DELIVERY:
                return await self.dead_delivery(owner)
            case Kind.WISH_OPEN | Kind.WISH_CLAIMED | Kind.WISH_COMPLETED:
                return await self.wish(owner, kind)
            case Kind.COMMITMENT_PENDING | Kind.COMMITMENT_APPROVED | Kind.COMMITMENT_REPORTED:
                return await self.commitment(owner, kind)
            case Kind.ROUND_OPEN | Kind.ROUND_COLLECTING | Kind.ROUND_CLOSED:
                return await self.round(owner, kind)
            case Kind.ROSTER_PREVIEW:
                unit = org.unit_id(UNIT_IN[owner])
                files = roster(Ctx(owner, {}, 50_000_000 + self.n()))
                url = f"/org/units/{unit}/roster/previews"
                return int((await self.call(owner, "POST", url, files=files))["id"])
            case Kind.ROBOT:
                url = f"/org/units/{org.unit_id(owner)}/robot"
                await self.call(self.officer_of(owner), "PUT", url, json={"key": ROBOT_KEY})
                return org.unit_id(owner)
            case Kind.MEETING | Kind.MEETING_STARTED | Kind.MEETING_CLOSED:
                return await self.meeting(owner, kind)
            case Kind.LEAVE_PENDING:
                meeting_id = await self.meeting(owner, Kind.MEETING)
                url = f"/meetings/{meeting_id}/leave-requests"
                asked = await self.call(self.member_of(owner), "POST", url, json={"reason": "外出"})
                return int(asked["id"])
            case Kind.TEMPLATE:
                await self.call(
                    "admin2" if owner in ("town2", "branch_c") else "admin",
                    "PUT",
                    "/notice-templates/claim_result/subscribe",
                    params={"unit_id": org.unit_id(owner)},
                    json={"template_id": "T-OWN", "page": "pages/claim", "fields": {"thing1": "t"}},
                )
                return org.unit_id(owner)
        raise AssertionError(kind)

    async def record_of(self, kind: Kind, member: str) -> int:
        """A new object of `kind` on `member`'s own record (the actor's own, or a rival's)."""
        await self.seat(member)
        match kind:
            case Kind.MEMBER | Kind.BRANCH_MEMBER | Kind.PEER:
                return self.org.id(member)
            case Kind.ENTRY:
                return await self.entry_direct(member)
            case Kind.APPEAL:
                entry_id = await self.entry_direct(member)
                url = f"/entries/{entry_id}/appeals"
                return int(
                    (await self.call(member, "POST", url, json={"reason": "记分有误"}))["id"]
                )
            case Kind.ACTION:
                await self.entry_direct(member, "meeting_absent")
                return await self.last_action(member)
            case Kind.ASSIGNMENT:
                async with self.maker() as session:
                    found = await session.scalar(
                        select(RoleAssignment.id).where(
                            col(RoleAssignment.member_id) == self.org.id(member)
                        )
                    )
                assert found is not None, member
                return int(found)
            case Kind.CLAIM_REVIEW:
                return await self.claim(member, REVIEW_IN[member].split(":")[1])
            case Kind.WISH_CLAIMED | Kind.WISH_COMPLETED:
                return await self.wish("branch_a", kind, taker=member)
            case Kind.COMMITMENT_PENDING | Kind.COMMITMENT_REPORTED:
                return await self.commitment("branch_a", kind, member=member)
            case Kind.LEAVE_PENDING:
                meeting_id = await self.meeting("branch_a", Kind.MEETING)
                url = f"/meetings/{meeting_id}/leave-requests"
                asked = await self.call(member, "POST", url, json={"reason": "外出"})
                return int(asked["id"])
        raise AssertionError(kind)

    async def console_ticket(self, confirmed_by: str) -> str:
        """A PC console's code, confirmed by `confirmed_by` unless that is empty."""
        response = await self.client.post(f"{API_PREFIX}/auth/console-tickets")
        if response.status_code != 201:
            raise Trouble(f"console ticket: {response.status_code} {response.text}")
        ref = str(response.json()["ticket_id"])
        if confirmed_by:
            await self.call(confirmed_by, "POST", f"/auth/console-tickets/{ref}/confirm")
        return ref

    async def login(self, member: str) -> int:
        """Another login of `member` (another device's), not the one the matrix signs in with."""
        async with self.maker() as session:
            row = LoginSession(
                member_id=self.org.id(member),
                expires_at=utcnow() + self.org.settings.session_max_age,
            )
            session.add(row)
            await session.commit()
            return id_of(row)

    async def seat(self, member: str) -> None:
        """A rival who is not in the `org` fixture: a member of their unit with their role."""
        if member in self.org.members or member not in RIVAL_SEATS:
            return
        unit, role = RIVAL_SEATS[member]
        async with self.maker() as session:
            row = Member(
                name=member,
                phone=f"136{len(self.org.members):08d}",
                unit_id=self.org.unit_id(unit),
                political_status=PoliticalStatus.FULL,
                category="B",
            )
            session.add(row)
            await session.flush()
            session.add(
                RoleAssignment(member_id=id_of(row), unit_id=self.org.unit_id(unit), role=role)
            )
            await self.org.sign_in(session, member, row)
            await session.commit()

    async def entry_direct(
        self, member: str, item: str = "activity_day_leave", recorder: str | None = None
    ) -> int:
        """A deduction on a record no role of the matrix may write to (an admin's, a rival's),
        written by the service beneath the access check, as a meeting's close writes one."""
        async with self.maker() as session:
            subject = await session.get(Member, self.org.id(member))
            assert subject is not None
            new = NewEntry(item, None, shanghai_today(), "矩阵记分", EntrySource.deduction)
            actor = self.org.id(recorder or self.admin_of(member))
            done = await deductions.apply(session, self.org.settings, subject, new, actor, utcnow())
            await session.commit()
            return id_of(done.entry)

    async def assignment(self, branch: str) -> int:
        unit, member, role, who = {
            "branch_a": ("group_a1", "member_a1b", "group_leader", "admin"),
            "branch_b": ("group_b1", "member_b1", "group_leader", "admin"),
            "branch_c": ("branch_c", "member_c", "branch_committee", "admin2"),
        }[branch]
        url = f"/org/units/{self.org.unit_id(unit)}/roles"
        body = {"member_id": self.org.id(member), "role": role}
        return int((await self.call(who, "POST", url, json=body))["id"])

    async def entry_of(self, member: str, item: str = "activity_day_leave") -> int:
        body = {
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "矩阵记分",
        }
        url = f"/members/{self.org.id(member)}/deductions"
        return int((await self.call(self.admin_of(member), "POST", url, json=body))["entry"]["id"])

    async def period(self, unit: str, state: str) -> int:
        """The scheme's current period, moved forward to `state`."""
        who = "admin2" if unit == "town2" else "admin"
        if unit not in self.periods:
            member = {"town": "member_a1", "branch_b": "member_b1", "town2": "member_c"}[unit]
            await self.entry_of(member)
            listed = await self.call(who, "GET", f"/schemes/{self.schemes[unit]}/periods")
            self.periods[unit], self.period_state[unit] = int(listed[0]["id"]), "open"
        order = ("open", "closed", "published")
        period_id = self.periods[unit]
        while order.index(self.period_state[unit]) < order.index(state):
            step = "close" if self.period_state[unit] == "open" else "publish"
            # The running period closes before its end: confirmed, with a reason.
            body = EARLY_CLOSE if step == "close" else None
            await self.call(who, "POST", f"/periods/{period_id}/{step}", json=body)
            self.period_state[unit] = order[order.index(self.period_state[unit]) + 1]
        assert self.period_state[unit] == state, (unit, self.period_state[unit], state)
        return period_id

    async def branch_period(self, town: str) -> int:
        who, branch = ("admin2", "branch_c") if town == "town2" else ("admin", "branch_a")
        body = {
            "item_code": "sanitation",
            "points": "5",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        }
        await self.call(
            who, "POST", f"/org/units/{self.org.unit_id(branch)}/assessments", json=body
        )
        listed = await self.call(who, "GET", f"/schemes/{self.branch_schemes[town]}/periods")
        period_id = int(listed[0]["id"])
        await self.call(who, "POST", f"/periods/{period_id}/close", json=EARLY_CLOSE)
        await self.call(who, "POST", f"/periods/{period_id}/publish")
        return period_id

    async def claim(self, member: str, item: str) -> int:
        body = {
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "description": "矩阵申报",
        }
        response = await self.client.post(
            f"{API_PREFIX}/claims",
            json=body,
            headers={**self.org.headers(member), "Idempotency-Key": f"build-{self.n():08d}"},
        )
        if response.status_code != 201:
            raise Trouble(f"claim by {member}: {response.status_code} {response.text}")
        return int(response.json()["id"])

    async def action(self, member: str) -> int:
        """A threshold action: 6 points of deductions reach the reminder (once per year)."""
        await self.entry_of(member, "meeting_absent")
        return await self.last_action(member)

    async def last_action(self, member: str) -> int:
        async with self.maker() as session:
            found = await session.scalar(
                select(CommitteeAction.id)
                .where(col(CommitteeAction.member_id) == self.org.id(member))
                .order_by(col(CommitteeAction.id).desc())
            )
        if found is None:
            raise Trouble(f"no committee action for {member}")
        return int(found)

    async def notice(self, member: str) -> Notice:
        async with self.maker() as session:
            notice = Notice(
                member_id=self.org.id(member),
                kind=NoticeKind.claim_result,
                title="矩阵通知",
                data={"n": self.n()},
            )
            session.add(notice)
            await session.commit()
            return notice

    async def dead_delivery(self, member: str) -> int:
        notice = await self.notice(member)
        async with self.maker() as session:
            await session.execute(
                update(Delivery)
                .where(col(Delivery.notice_id) == notice.id)
                .values(status=DeliveryStatus.dead, attempts=6, reason="矩阵：投递失败")
            )
            found = await session.scalar(
                select(Delivery.id).where(col(Delivery.notice_id) == notice.id)
            )
            await session.commit()
        if found is None:
            raise Trouble(f"no delivery row for the notice of {member}")
        return int(found)

    async def wish(self, branch: str, kind: Kind, taker: str | None = None) -> int:
        url = f"/org/units/{self.org.unit_id(branch)}/micro-wishes"
        body = {
            "title": f"微心愿{self.n()}",
            "description": "厨房水管漏水",
            "location": "村3组12号",
            "contact": "13512345678",
        }
        wish_id = int((await self.call(self.officer_of(branch), "POST", url, json=body))["id"])
        member = taker or self.member_of(branch)
        if kind in (Kind.WISH_CLAIMED, Kind.WISH_COMPLETED):
            await self.call(member, "POST", f"/micro-wishes/{wish_id}/take")
        if kind == Kind.WISH_COMPLETED:
            await self.call(
                member, "POST", f"/micro-wishes/{wish_id}/complete", json={"note": "已完成"}
            )
        return wish_id

    async def commitment(self, branch: str, kind: Kind, member: str | None = None) -> int:
        member = member or self.member_of(branch)
        filed = await self.call(member, "POST", "/commitments", json={"text": f"承诺{self.n()}"})
        url = f"/commitments/{filed['id']}"
        officer = self.officer_of(branch)
        approver = "committee_a" if officer == member else officer
        if kind in (Kind.COMMITMENT_APPROVED, Kind.COMMITMENT_REPORTED):
            await self.call(approver, "POST", f"{url}/decision", json={"decision": "approve"})
        if kind == Kind.COMMITMENT_REPORTED:
            await self.call(member, "POST", f"{url}/report", json={"report": "已履诺"})
        return int(filed["id"])

    async def meeting(self, branch: str, kind: Kind) -> int:
        """A meeting of the whole branch, half an hour ahead; started or closed as asked."""
        who = self.officer_of(branch)
        body = {
            "kind": "支部党员大会",
            "title": f"矩阵会议{self.n()}",
            "starts_at": (utcnow() + timedelta(minutes=30)).isoformat(),
        }
        url = f"/org/units/{self.org.unit_id(branch)}/meetings"
        meeting_id = int((await self.call(who, "POST", url, json=body))["id"])
        if kind in (Kind.MEETING_STARTED, Kind.MEETING_CLOSED):
            # Its day moves with its start: scheduled after midnight in Shanghai, it would
            # otherwise charge its absences on a day still to come.
            started = utcnow() - timedelta(minutes=5)
            async with self.maker() as session:
                await session.execute(
                    update(Meeting)
                    .where(col(Meeting.id) == meeting_id)
                    .values(starts_at=started, held_on=today_in_shanghai(started))
                )
                await session.commit()
        if kind == Kind.MEETING_CLOSED:
            await self.call(who, "POST", f"/meetings/{meeting_id}/close")
        return meeting_id

    async def round(self, branch: str, kind: Kind) -> int:
        who = self.officer_of(branch)
        url = f"/org/units/{self.org.unit_id(branch)}/evaluation-rounds"
        body = {"deadline": deadline(), "period_key": f"{2100 - self.n()}-H2"}
        round_id = int((await self.call(who, "POST", url, json=body))["id"])
        steps = {
            Kind.ROUND_OPEN: (),
            Kind.ROUND_COLLECTING: ("collecting",),
            Kind.ROUND_CLOSED: ("collecting", "committee", "final", "closed"),
        }[kind]
        for step in steps:
            await self.call(
                who,
                "POST",
                f"/evaluation-rounds/{round_id}/advance",
                json={"to": step, "reason": "矩阵：无人评分"},
            )
        return round_id


# --- sending one request ------------------------------------------------------------------------


def request_of(route: Route, entry: Guarded, ctx: Ctx) -> dict[str, Any]:
    method, path = route
    url = path
    for name, value in {**entry.fixed, **{k: str(v) for k, v in ctx.ids.items()}}.items():
        url = url.replace(f"{{{name}}}", value)
    assert "{" not in url, url
    request: dict[str, Any] = {"method": method, "url": url}
    if entry.body is not None:
        request["json"] = entry.body(ctx)
    if entry.files is not None:
        request["files"] = entry.files(ctx)
    if entry.query is not None:
        request["params"] = entry.query(ctx)
    if entry.headers is not None:
        request["headers"] = entry.headers(ctx)
    return request


def names_target(request: dict[str, Any], name: str, path: str) -> bool:
    """Whether the request carries the target `name` (checked with MISSING as its id)."""
    if f"{{{name}}}" in path:
        return str(MISSING) in request["url"]
    carried = json.dumps([request.get("json"), request.get("params")])
    return str(MISSING) in carried


async def send(
    client: httpx.AsyncClient, org: Org, route: Route, entry: Guarded, ctx: Ctx
) -> httpx.Response:
    request = request_of(route, entry, ctx)
    headers = {**request.pop("headers", {}), **org.headers(ctx.role)}
    return await client.request(**request, headers=headers)


def signature(response: httpx.Response, entry: Guarded) -> Signature:
    """What a response tells the caller: status, error code and message (per item in a batch)."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, None, None
    if entry.batch is not None and response.is_success:
        [item] = body
        return (200 if item["ok"] else SKIPPED), item.get("code"), item.get("message")
    if isinstance(body, dict):
        return response.status_code, body.get("code"), body.get("message")
    return response.status_code, None, None


def listed_ids(response: httpx.Response) -> set[int]:
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {int(item["id"]) for item in items}


def short(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


# --- the checks ---------------------------------------------------------------------------------


class KnownGap(Exception):
    """The route shows exactly the problems KNOWN_GAPS records for it."""


GUARDED = sorted(route for route, entry in MATRIX.items() if isinstance(entry, Guarded))
PUBLIC = sorted(route for route, entry in MATRIX.items() if isinstance(entry, Public))


def _param(route: Route) -> Any:
    marks = (
        [pytest.mark.xfail(raises=KnownGap, strict=True, reason="see KNOWN_GAPS")]
        if route in KNOWN_GAPS
        else []
    )
    return pytest.param(route, id=f"{route[0]} {route[1]}", marks=marks)


@pytest.mark.parametrize("route", [_param(route) for route in GUARDED])
async def test_access(
    route: Route, client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    entry = MATRIX[route]
    assert isinstance(entry, Guarded)
    world = World(client, org, sessionmaker, entry)
    await world.setup()
    problems: dict[str, str] = {}

    async def inside(role: Role, fresh: bool) -> dict[str, int | str]:
        return {
            name: await world.target(kind, role, True, fresh and name in entry.fresh)
            for name, kind in entry.targets.items()
        }

    # Objects a list must show (in scope) or hide (out of scope) exist before any request.
    for role in ROLES:
        if entry.listed is not None:
            await world.target(entry.listed, role, True)
            await world.target(entry.listed, role, False)

    # Out of scope: refused, and answered as for an object that does not exist.
    for role in ROLES:
        base = await inside(role, fresh=False)
        for name, kind in entry.targets.items():
            outside = await world.target(kind, role, False)
            ctx = Ctx(role, {**base, name: MISSING}, world.n())
            assert names_target(request_of(route, entry, ctx), name, route[1]), name
            absent = await send(client, org, route, entry, ctx)
            present = await send(
                client, org, route, entry, Ctx(role, {**base, name: outside}, world.n())
            )
            key = f"{role} outside {name}"
            if signature(present, entry)[0] not in REFUSALS:
                problems[key] = f"out-of-scope {kind} {outside} accepted: {short(present)}"
            elif signature(present, entry) != signature(absent, entry):
                problems[key] = (
                    f"out-of-scope {kind} {outside} answers {signature(present, entry)}, "
                    f"a missing one {signature(absent, entry)}"
                )

    # In scope: refused for the roles the matrix does not allow (before any state changes)...
    for role in ROLES:
        if role in entry.allowed:
            continue
        response = await send(client, org, route, entry, Ctx(role, await inside(role, False), 0))
        status = signature(response, entry)[0]
        if status not in DENIALS and not (entry.batch and status == SKIPPED):
            problems[f"{role} inside"] = f"not allowed, yet: {short(response)}"

    # On its own record, and on that of a member at or above its role: refused by the one rule.
    record = entry.record
    if isinstance(record, OnRecord):
        tried = replace(entry, body=record.body or entry.body)
        kind = entry.targets[record.target]
        refusal = SKIPPED if entry.batch else 403
        for role in ROLES:
            if role not in (record.holders or entry.allowed):
                continue
            cases = [("self", role, "own_record")]
            if record.rank:
                cases.append(("above", RIVALS[role], "role_not_below_yours"))
            for case, owner, code in cases:
                ids = {**await inside(role, fresh=True), record.target: 0}
                ids[record.target] = await world.record_of(kind, owner)
                response = await send(client, org, route, tried, Ctx(role, ids, world.n()))
                if signature(response, tried)[:2] != (refusal, code):
                    problems[f"{role} {case}"] = f"on {owner}'s {kind}: {short(response)}"

    # ... and accepted for those it allows, each on objects of its own where one use spends them.
    for role in ROLES:
        if role not in entry.allowed:
            continue
        ids = await inside(role, fresh=True)
        response = await send(client, org, route, entry, Ctx(role, ids, world.n()))
        expected = entry.outcomes.get(role)
        got = signature(response, entry)
        if expected is not None:
            if got[:2] != expected:
                problems[f"{role} inside"] = f"expected {expected}, got {short(response)}"
        elif not (response.is_success and got[0] < 300):
            problems[f"{role} inside"] = f"allowed, yet: {short(response)}"
        if entry.listed is not None and response.is_success:
            shown = listed_ids(response)
            if role in (entry.lists if entry.lists is not None else entry.allowed):
                own = await world.target(entry.listed, role, True)
                if own not in shown:
                    problems[f"{role} lists inside"] = f"{entry.listed} {own} not listed"
            other = await world.target(entry.listed, role, False)
            if other in shown:
                problems[f"{role} lists outside"] = f"out-of-scope {entry.listed} {other} listed"

    report = "\n".join(f"{key}: {text}" for key, text in sorted(problems.items()))
    known = KNOWN_GAPS.get(route, frozenset())
    unknown = {key: text for key, text in problems.items() if key not in known}
    assert not unknown, f"{route[0]} {route[1]}:\n{report}"
    gone = known - set(problems)
    assert not gone, f"known gaps no longer seen, remove them from KNOWN_GAPS: {sorted(gone)}"
    if known:
        raise KnownGap(report)


async def test_every_guarded_route_refuses_a_request_without_a_valid_token(
    client: httpx.AsyncClient, org: Org
) -> None:
    problems = []
    for route in GUARDED:
        entry = MATRIX[route]
        assert isinstance(entry, Guarded)
        ctx = Ctx("member_a1", dict.fromkeys(entry.targets, MISSING), 1)
        request = request_of(route, entry, ctx)
        for token in (None, "Bearer not-a-token"):
            headers = dict(request.get("headers", {}))
            if token is not None:
                headers["Authorization"] = token
            response = await client.request(**{**request, "headers": headers})
            expected = "not_authenticated" if token is None else "invalid_token"
            if signature(response, entry)[:2] != (401, expected):
                problems.append(f"{route[0]} {route[1]} with {token}: {short(response)}")
    assert not problems, "\n".join(problems)


# --- public routes: their real flow, without a token --------------------------------------------


async def shared_board_links(client: httpx.AsyncClient, org: Org) -> tuple[str, str]:
    """The signed links of a board's share card and poster: a period closed and published."""
    admin = org.headers("admin")
    attached = await client.post(
        f"{API_PREFIX}/org/units/{org.unit_id('town')}/schemes",
        json={"preset": "lutou"},
        headers=admin,
    )
    adjusted = await client.post(
        f"{API_PREFIX}/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "flood_fighting",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "巡堤",
        },
        headers=admin,
    )
    assert adjusted.status_code == 201, adjusted.text
    listed = await client.get(
        f"{API_PREFIX}/schemes/{attached.json()['id']}/periods", headers=admin
    )
    period_id = listed.json()[0]["id"]
    for step, body in (("close", EARLY_CLOSE), ("publish", None)):
        done = await client.post(
            f"{API_PREFIX}/periods/{period_id}/{step}", json=body, headers=admin
        )
        assert done.status_code == 200, done.text
    share = await client.get(
        f"{API_PREFIX}/periods/{period_id}/boards/{org.unit_id('branch_a')}/share",
        headers=org.headers("member_a1"),
    )
    assert share.status_code == 200, share.text
    return share.json()["image_url"], share.json()["poster_url"]


@pytest.fixture
async def dev_client(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[httpx.AsyncClient]:
    """The same database served in dev mode without WeChat credentials (dev login on)."""
    dev = settings.model_copy(update={"wechat_app_id": ""})
    async with running_app(dev, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def signed(nonce: str, token: str = CALLBACK_TOKEN) -> dict[str, str]:
    """A push's query signed now, as WeChat sends it."""
    timestamp = str(int(time.time()))
    parts = sorted([token, timestamp, nonce])
    signature = hashlib.sha1("".join(parts).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


async def test_public_routes_answer_without_a_token(
    client: httpx.AsyncClient,
    dev_client: httpx.AsyncClient,
    org: Org,
    wechat: FakeWeChat,
) -> None:
    async def ticket(code: str, openid: str) -> str:
        wechat.add_login(code, openid)
        response = await client.post(f"{API_PREFIX}/auth/wechat/login", json={"code": code})
        assert response.status_code == 200, response.text
        return str(response.json()["binding_ticket"])

    wechat.add_login("login-0", "openid-0")
    invite = await client.post(
        f"{API_PREFIX}/members/{org.id('member_a2')}/invite-codes",
        headers=org.headers("secretary_a"),
    )
    assert invite.status_code == 201, invite.text
    wechat.add_phone("phone-1", "13900000006")
    bound = await client.post(
        f"{API_PREFIX}/auth/bind/phone",
        json={"binding_ticket": await ticket("login-1", "openid-1"), "phone_code": "phone-1"},
    )
    v1 = API_PREFIX
    console = await client.post(f"{v1}/auth/console-tickets")
    console_ticket = console.json()
    refreshed = await client.post(
        f"{v1}/auth/refresh", json={"refresh_token": bound.json()["refresh_token"]}
    )
    uploaded = await client.post(
        f"{v1}/photos", files={"file": ("证明.png", png(1))}, headers=org.headers("member_a1")
    )
    assert uploaded.status_code == 201, uploaded.text
    card_url, poster_url = await shared_board_links(client, org)
    answers: dict[Route, httpx.Response] = {
        ("GET", "/healthz"): await client.get("/healthz"),
        ("GET", "/readyz"): await client.get("/readyz"),
        ("GET", "/metrics"): await client.get("/metrics"),
        ("POST", f"{v1}/auth/wechat/login"): await client.post(
            f"{v1}/auth/wechat/login", json={"code": "login-0"}
        ),
        ("POST", f"{v1}/auth/bind/phone"): bound,
        ("POST", f"{v1}/auth/bind/invite"): await client.post(
            f"{v1}/auth/bind/invite",
            json={
                "binding_ticket": await ticket("login-2", "openid-2"),
                "invite_code": invite.json()["code"],
            },
        ),
        ("POST", f"{v1}/auth/refresh"): refreshed,
        ("POST", f"{v1}/auth/logout"): await client.post(
            f"{v1}/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]}
        ),
        ("POST", f"{v1}/auth/dev/login"): await dev_client.post(
            f"{v1}/auth/dev/login", json={"phone": "13900000005"}
        ),
        ("GET", f"{v1}/auth/dev/accounts"): await dev_client.get(f"{v1}/auth/dev/accounts"),
        ("GET", f"{v1}/photos/{{photo_id}}/content"): await client.get(uploaded.json()["url"]),
        ("POST", f"{v1}/auth/console-tickets"): console,
        ("GET", f"{v1}/auth/console-tickets/{{ticket_id}}"): await client.get(
            f"{v1}/auth/console-tickets/{console_ticket['ticket_id']}",
            headers={"X-Ticket-Secret": console_ticket["secret"]},
        ),
        ("GET", f"{v1}/wechat/callback"): await client.get(
            f"{v1}/wechat/callback",
            params={**signed("n-1"), "echostr": "hello"},
        ),
        ("GET", f"{v1}/wechat/callback/service"): await client.get(
            f"{v1}/wechat/callback/service",
            params={**signed("n-3", SERVICE_CALLBACK_TOKEN), "echostr": "hello"},
        ),
        ("POST", f"{v1}/wechat/callback/service"): await client.post(
            f"{v1}/wechat/callback/service",
            params=signed("n-4", SERVICE_CALLBACK_TOKEN),
            content=json.dumps(
                {"FromUserName": "s-1", "CreateTime": 1714036506, "Event": "subscribe"}
            ),
        ),
        ("GET", f"{v1}/share/boards/{{publication_id}}/card.png"): await client.get(card_url),
        ("GET", f"{v1}/share/boards/{{publication_id}}/poster.png"): await client.get(poster_url),
        ("POST", f"{v1}/wechat/callback"): await client.post(
            f"{v1}/wechat/callback",
            params=signed("n-2"),
            content=json.dumps(
                {
                    "ToUserName": "gh_matrix",
                    "FromUserName": "openid-1",
                    "CreateTime": 1714036505,
                    "MsgType": "event",
                    "Event": "subscribe_msg_popup_event",
                    "List": {
                        "TemplateId": "T-MATRIX",
                        "SubscribeStatusString": "accept",
                        "PopupScene": "0",
                    },
                }
            ),
        ),
    }
    assert set(answers) == set(PUBLIC), "every public route of the matrix has a flow here"
    problems = []
    for route, response in sorted(answers.items()):
        entry = MATRIX[route]
        assert isinstance(entry, Public)
        if response.status_code != entry.status:
            problems.append(f"{route[0]} {route[1]}: {short(response)}")
    assert not problems, "\n".join(problems)
