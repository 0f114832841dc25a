"""How the app is wired: nothing on a request's path is handed to the thread pool, and the
served app keeps the garbage collector off what it built at startup."""

import gc
import inspect
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.config import Settings
from api.main import create_app
from tests.test_access_matrix import mounted


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def _runs_on_the_loop(call: Any) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_every_endpoint_and_dependency_is_async() -> None:
    """FastAPI runs a plain `def` endpoint or dependency in its thread pool: a thread hop per
    request (and a queue behind 40 threads under load) for work that never blocks."""
    offenders = {
        f"{prefix}{route.path} {getattr(call, '__qualname__', type(call).__qualname__)}"
        for prefix, route in mounted()
        for call in _calls(route.dependant)
        if not _runs_on_the_loop(call)
    }
    assert len(mounted()) > 90
    assert not offenders


async def test_the_served_app_freezes_its_startup_heap(settings: Settings) -> None:
    threshold = gc.get_threshold()
    tested = create_app(settings)
    async with tested.router.lifespan_context(tested):
        assert gc.get_freeze_count() == 0
    served = create_app(settings, serving=True)
    try:
        async with served.router.lifespan_context(served):
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] > threshold[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_a_request_asks_only_the_routes_that_could_match_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each domain router turns a path away by its beginning before asking its routes: a
    board's request asks only the routes under `/api/v1/periods/`, not the 150-odd before."""
    asked = []
    matches = APIRoute.matches

    def counted(route: APIRoute, scope: Any) -> Any:
        asked.append(route.path)
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", counted)
    response = await client.get("/api/v1/periods/1/boards/2")
    assert response.status_code == 401
    under_periods = [
        route for prefix, route in mounted() if (prefix + route.path).startswith("/api/v1/periods/")
    ]
    assert 0 < len(asked) <= len(under_periods) < len(mounted()) / 4
