"""The demo township that `make run` loads: every role, a scheme, scores with content."""

import httpx
import pytest

from api.services import demo
from tests.conftest import make_settings, running_app
from tests.fakes.wechat import FakeWeChat


async def test_the_demo_loads_once_and_its_members_can_log_in(
    database_url: str, wechat: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(database_url, wechat_app_id="", wechat_app_secret="")
    async with running_app(settings, wechat) as app:
        async with app.state.sessionmaker() as session:
            assert await demo.database_is_empty(session)
            await demo.load_demo(session)
            await session.commit()
            assert not await demo.database_is_empty(session)
            assert await demo.demo_is_loaded(session)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            roles = set()
            for person in demo.PEOPLE:
                login = await client.post("/api/v1/auth/dev/login", json={"phone": person.phone})
                assert login.status_code == 200
                token = login.json()["access_token"]
                me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                roles |= {r["role"] for r in me.json()["roles"]}
            assert roles == {
                "committee_admin",
                "branch_secretary",
                "branch_committee",
                "group_leader",
            }
            member = next(p for p in demo.PEOPLE if p.phone == "13800000005")
            login = await client.post("/api/v1/auth/dev/login", json={"phone": member.phone})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = (await client.get("/api/v1/me", headers=headers)).json()
            score = await client.get(f"/api/v1/members/{me['member']['id']}/score", headers=headers)
            assert score.json()["result"]["total"] == "67.00"
            # Last month is published: the member sees their branch's board and its poster.
            async with app.state.sessionmaker() as session:
                boards = await demo.published_boards(session)
            branch = next(b for b in boards if b[2] == "东村党支部")
            url = f"/api/v1/periods/{branch[0]}/boards/{branch[1]}"
            board = (await client.get(url, headers=headers)).json()
            first = board["rows"][0]
            assert (first["rank"], first["name"], first["total"]) == (1, "刘德华", "76.00")
            poster = await client.get(f"{url}/poster.png", headers=headers)
            assert poster.headers["content-type"] == "image/png"
