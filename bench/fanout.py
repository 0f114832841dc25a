"""Benchmark: N deliveries sent by worker processes to the fake WeChat server limited to R sends
per second.

Starts `--workers` worker processes as deployed (`python -m api.worker`, PostgreSQL) with
`DELIVERY_RATE_PER_SECOND` a little under R, which they keep together; the fake, in a process
of its own, answers 45009 above R in any second. N members follow the service account, each
with one notice queued. Prints JSON: the rate WeChat accepted sends at, from its first accepted
send to its last, as a share of R (goal ≥ 0.95), the duplicates (goal 0), the sends refused
with 45009, the busiest second WeChat saw, and the CPU time the workers used (start-up
included).

    .venv/bin/python bench/fanout.py                     # 10 000 deliveries, R = 100/s, 1 worker
    .venv/bin/python bench/fanout.py --deliveries 3000 --workers 2
"""

import argparse
import asyncio
import bisect
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kill_worker import statuses
from bench.load import cpu_seconds, service_env, start_worker, stop
from bench.outbox import fake_log, fake_server, fresh_database, seed

# The workers' pace, a little under R: WeChat counts what arrives, a few milliseconds after
# each slot.
PACING = 0.98
TIMEOUT_SECONDS = 1800


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="R: sends per second allowed")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--database", default="pioneer_fanout")
    return parser.parse_args()


def settle(url: str) -> dict[str, int]:
    """Wait until no delivery is pending or being sent; their statuses."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        counts = asyncio.run(statuses(url))
        if not counts.get("pending", 0) + counts.get("sending", 0):
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"deliveries still waiting: {counts}")
        time.sleep(0.2)


def busiest_second(times: list[float]) -> int:
    """The most sends accepted in any one second."""
    return max((bisect.bisect_left(times, at + 1) - i for i, at in enumerate(times)), default=0)


def report(args: argparse.Namespace, log: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    accepted = sorted(log["accepted_at"])
    seconds = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / seconds if seconds else 0.0
    received = Counter(log["sent"])
    return {
        "deliveries": args.deliveries,
        "workers": args.workers,
        "rate_limit": args.rate,
        "paced_at": round(args.rate * PACING, 2),
        "seconds": round(seconds, 2),
        "achieved_per_second": round(achieved, 1),
        "achieved_over_limit": round(achieved / args.rate, 3),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "refused_45009": log["refused"],
        "busiest_second": busiest_second(accepted),
        "attempts": len(log["attempts"]),
        "statuses": counts,
    }


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    asyncio.run(seed(url, args.deliveries))
    with fake_server(args.rate) as base:
        env = {
            **service_env(url, base),
            "DELIVERY_RATE_PER_SECOND": str(args.rate * PACING),
            "DELIVERY_MAX_ATTEMPTS": "20",
        }
        workers = [start_worker(env) for _ in range(args.workers)]
        try:
            counts = settle(url)
            cpu = sum(cpu_seconds(worker.pid) for worker in workers)
        finally:
            stop(workers)
        log = fake_log(base)
    result = report(args, log, counts)
    result["worker_cpu_seconds"] = round(cpu, 1)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
