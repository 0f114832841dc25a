"""Benchmark: finding a phone operation's route in the app's route table.

Asks the app's router for the route of each phone operation's path, as Starlette does for every
request (each included router in turn, each trying its routes until one matches), and prints one
JSON object: microseconds per lookup with the domain routers turning paths away by their
beginnings (`api.routers.DomainRouter`) and, as the baseline measured in the same run, with every
router trying all of its routes (FastAPI's own way), with their ratio.

    .venv/bin/python bench/routing.py
"""

import argparse
import json
import sys
import timeit
from pathlib import Path
from typing import Any

from starlette.routing import Match

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from api.main import ROUTED_DOMAINS, create_app  # noqa: E402
from api.routers import health  # noqa: E402
from bench.provenance import provenance  # noqa: E402

OPERATIONS = {
    "probe": ("POST", "/api/v1/probe"),
    "refresh": ("POST", "/api/v1/auth/refresh"),
    "submit": ("POST", "/api/v1/claims"),
    "inbox": ("GET", "/api/v1/claims/review-inbox"),
    "approve": ("POST", "/api/v1/claims/5/decision"),
    "my_score": ("GET", "/api/v1/members/5/score"),
    "board": ("GET", "/api/v1/periods/1/boards/2"),
    "home": ("GET", "/api/v1/me/home"),
}
PATHS = tuple(OPERATIONS.items())


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=5_000, help="per operation and round")
    return parser.parse_args()


def lookup_microseconds(routes: list[Any], method: str, path: str, lookups: int) -> float:
    def find() -> None:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        for route in routes:
            if route.matches(scope)[0] is Match.FULL:
                return
        raise AssertionError(f"no route for {method} {path}")

    return min(timeit.repeat(find, number=lookups, repeat=3)) / lookups * 1e6


def main() -> None:
    args = arguments()
    app = create_app(Settings(database_url="sqlite+aiosqlite://", jwt_secret="r" * 40))
    routes = app.router.routes
    routers = [health.router, *(module.router for module in ROUTED_DOMAINS)]
    turning_away = {
        name: lookup_microseconds(routes, *op, args.lookups) for name, op in OPERATIONS.items()
    }
    heads = [router._heads for router in routers]
    for router in routers:
        router._heads = ()
    trying_all = {
        name: lookup_microseconds(routes, *op, args.lookups) for name, op in OPERATIONS.items()
    }
    for router, kept in zip(routers, heads, strict=True):
        router._heads = kept
    print(
        json.dumps(
            {
                **provenance(),
                "routes": sum(len(router.routes) for router in routers),
                "microseconds_per_lookup": {
                    name: {
                        "turning_away": round(turning_away[name], 1),
                        "trying_every_route": round(trying_all[name], 1),
                        "ratio": round(turning_away[name] / trying_all[name], 2),
                    }
                    for name in OPERATIONS
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
