"""Hostile requests against the service as it runs in production: memory and disk per process.

Starts the API as `bench/load.py` does (uvicorn, 2 workers, PostgreSQL, WeChat faked in its own
process) with a temporary directory of its own, then sends one case at a time:

- oversized bodies: a 400 MB JSON body to the login, with and without `Content-Length`; a 1.5 GB
  multipart to `/photos` without a token (declared, chunked) and with one (chunked); a normal
  upload without a token; a 50 MB roster upload (declared, chunked);
- decompression: the 6324 x 6324 RGBA PNG, a 40 MP JPEG, the worst photo each format still
  accepts, and six of several of them at once.

For every case and API process it reports how far the resident memory rose above where it
stood (the kernel's peak, reset before the case: `/proc/PID/clear_refs`), what it still held
after, and the most that process had in temporary files at any moment (its open files under the
temporary directory, deleted ones included). Goal: no request moves either by more than 64 MB.
Linux only.

    .venv/bin/python bench/hostile.py
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.db import create_engine, create_sessionmaker  # noqa: E402
from api.models import (  # noqa: E402
    LoginSession,
    Member,
    PoliticalStatus,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.security import issue_jwt  # noqa: E402
from api.services.org import add_unit  # noqa: E402
from bench.load import JWT_SECRET, service_env, start_api, stop, worker_pids  # noqa: E402
from bench.outbox import fake_server, fresh_database  # noqa: E402

GOAL_MB = 64
MB = 1024 * 1024
CHUNK = MB
UPLOADERS = 6
API = "/api/v1"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="pioneer_hostile")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    return parser.parse_args()


# --- the service's people -------------------------------------------------------------------


async def seed(url: str) -> dict[str, str]:
    """A town with one branch: its secretary and the members who upload; their access tokens."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        town = await add_unit(session, UnitKind.committee, "基准镇", None)
        branch = await add_unit(session, UnitKind.branch, "基准村党支部", town)
        people = {}
        for n, key in enumerate(["secretary", *(f"member{i}" for i in range(UPLOADERS))]):
            member = Member(
                name=key,
                phone=f"1390000{n:04d}",
                unit_id=id_of(branch),
                political_status=PoliticalStatus.FULL,
                category="B",
            )
            session.add(member)
            await session.flush()
            people[key] = id_of(member)
        session.add(
            RoleAssignment(
                member_id=people["secretary"], unit_id=id_of(branch), role=Role.branch_secretary
            )
        )
        # An access token names its login, which must be live: one login per person.
        logins = {}
        for key, mid in people.items():
            login = LoginSession(member_id=mid, expires_at=utcnow() + timedelta(days=1))
            session.add(login)
            await session.flush()
            logins[key] = id_of(login)
        await session.commit()
    await engine.dispose()
    ttl = timedelta(hours=2)
    tokens = {
        key: issue_jwt(JWT_SECRET, str(mid), "access", ttl, session_id=logins[key]).token
        for key, mid in people.items()
    }
    tokens["branch"] = str(id_of(branch))
    return tokens


# --- requests, sent as an attacker sends them -------------------------------------------------


@dataclass(frozen=True)
class Body:
    """`head`, then `filler` zero bytes, then `tail`; declared with Content-Length or chunked."""

    head: bytes
    filler: int = 0
    tail: bytes = b""
    chunked: bool = False

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        left = self.filler
        while left > 0:
            yield bytes(min(CHUNK, left))
            left -= CHUNK
        yield self.tail

    @property
    def size(self) -> int:
        return len(self.head) + self.filler + len(self.tail)


@dataclass(frozen=True)
class Call:
    path: str
    body: Body
    content_type: str
    token: str | None = None


async def send(port: int, call: Call, patience: float) -> str:
    """The answer's status and code, or how the connection ended; the body is sent until the
    server answers or stops reading."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {call.path} HTTP/1.1", "Host: bench", f"Content-Type: {call.content_type}"]
    if call.token:
        head.append(f"Authorization: Bearer {call.token}")
    head.append(
        "Transfer-Encoding: chunked" if call.body.chunked else f"Content-Length: {call.body.size}"
    )
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sending = asyncio.create_task(_send_body(writer, call.body))
    try:
        return await asyncio.wait_for(_answer(reader), patience)
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        return type(exc).__name__
    except TimeoutError:
        return "timeout"
    finally:
        sending.cancel()
        writer.close()


async def _send_body(writer: asyncio.StreamWriter, body: Body) -> None:
    try:
        for chunk in body.chunks():
            if body.chunked and chunk:
                chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            writer.write(chunk)
            await writer.drain()
        if body.chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        return


async def _answer(reader: asyncio.StreamReader) -> str:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    payload = await reader.readexactly(length) if length else b"{}"
    code = json.loads(payload).get("code", "") if payload.startswith(b"{") else ""
    return f"{status} {code}".strip()


# --- what each process holds ---------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _temp_bytes(pid: int, folder: str) -> int:
    held = 0
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir() if fds.exists() else ():
        try:
            if os.readlink(fd).startswith(folder):
                held += fd.stat().st_size
        except OSError:
            continue
    return held


class Watch:
    """Per process, during one case: peak resident memory above the start, and temp files."""

    def __init__(self, pids: list[int], folder: str) -> None:
        self.pids, self.folder = pids, folder
        self.temp = dict.fromkeys(pids, 0)
        self._stop = threading.Event()

    def __enter__(self) -> "Watch":
        for pid in self.pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        self.before = {pid: _status_kb(pid, "VmRSS") for pid in self.pids}
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            for pid in self.pids:
                self.temp[pid] = max(self.temp[pid], _temp_bytes(pid, self.folder))

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)
        self._stop.set()
        self._sampler.join()
        self.report = [
            {
                "pid": pid,
                "rss_before_mb": round(self.before[pid] / 1024, 1),
                "rss_peak_increase_mb": round(
                    (_status_kb(pid, "VmHWM") - self.before[pid]) / 1024, 1
                ),
                "rss_held_mb": round((_status_kb(pid, "VmRSS") - self.before[pid]) / 1024, 1),
                "temp_peak_mb": round(self.temp[pid] / MB, 1),
            }
            for pid in self.pids
        ]


# --- the cases ---------------------------------------------------------------------------------


def form(content: bytes = b"", filler: int = 0, *, chunked: bool = False) -> Body:
    head = (
        b'--hostile\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + content
    )
    return Body(head, filler, b"\r\n--hostile--\r\n", chunked)


FORM = "multipart/form-data; boundary=hostile"


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def scene(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    gradient = Image.linear_gradient("L").resize(size)
    rgb = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    if mode == "RGBA":
        return Image.merge("RGBA", (*rgb.split(), gradient.transpose(Image.Transpose.ROTATE_90)))
    return rgb.convert(mode)


def photos() -> dict[str, bytes]:
    """The decompression cases: refused bombs, and the worst each format still accepts."""
    return {
        "png_6324_square_rgba": encoded(Image.new("RGBA", (6_324, 6_324)), "PNG"),
        "jpeg_40mp": encoded(scene((7_744, 5_164)), "JPEG", quality=90),
        "worst_png_8mp_rgba": encoded(scene((2_828, 2_828), "RGBA"), "PNG"),
        "worst_jpeg_8mp_full_scale": encoded(scene((2_828, 2_828)), "JPEG", quality=95),
        "worst_progressive_jpeg_4mp_cmyk": encoded(
            scene((2_000, 2_000), "CMYK"), "JPEG", progressive=True, subsampling=0
        ),
        "worst_webp_1_5mp_rgba": encoded(scene((1_224, 1_224), "RGBA"), "WEBP", lossless=True),
    }


def cases(tokens: dict[str, str]) -> list[tuple[str, list[Call]]]:
    login = b'{"code": "'
    roster = f"{API}/org/units/{tokens['branch']}/roster/previews"
    listed: list[tuple[str, list[Call]]] = [
        (
            "login_json_400mb",
            [Call(f"{API}/auth/wechat/login", Body(login, 400 * MB), "application/json")],
        ),
        (
            "login_json_400mb_chunked",
            [
                Call(
                    f"{API}/auth/wechat/login",
                    Body(login, 400 * MB, chunked=True),
                    "application/json",
                )
            ],
        ),
        ("photo_1500mb_no_token", [Call(f"{API}/photos", form(filler=1500 * MB), FORM)]),
        (
            "photo_1500mb_no_token_chunked",
            [Call(f"{API}/photos", form(filler=1500 * MB, chunked=True), FORM)],
        ),
        ("photo_2mb_no_token", [Call(f"{API}/photos", form(filler=2 * MB), FORM)]),
        (
            "photo_1500mb_with_token_chunked",
            [Call(f"{API}/photos", form(filler=1500 * MB, chunked=True), FORM, tokens["member0"])],
        ),
        ("roster_50mb", [Call(roster, form(filler=50 * MB), FORM, tokens["secretary"])]),
        (
            "roster_50mb_chunked",
            [Call(roster, form(filler=50 * MB, chunked=True), FORM, tokens["secretary"])],
        ),
    ]
    pictures = photos()
    for name, data in pictures.items():
        listed.append((name, [Call(f"{API}/photos", form(data), FORM, tokens["member0"])]))
    for name in ("png_6324_square_rgba", "jpeg_40mp", "worst_png_8mp_rgba"):
        calls = [
            Call(f"{API}/photos", form(pictures[name] + bytes(n)), FORM, tokens[f"member{n}"])
            for n in range(UPLOADERS)
        ]
        listed.append((f"{name}_x{UPLOADERS}_at_once", calls))
    return listed


async def run_case(port: int, calls: list[Call], patience: float) -> list[str]:
    return list(await asyncio.gather(*(send(port, call, patience) for call in calls)))


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    tokens = asyncio.run(seed(url))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as scratch, fake_server(0) as wechat:
        folder = str(Path(scratch, "tmp"))
        Path(folder).mkdir()
        env = {**service_env(url, wechat), "TMPDIR": folder, "PHOTO_DIR": f"{scratch}/photos"}
        api, base = start_api(env, workers=2)
        try:
            pids = worker_pids(api, 2)
            port = int(base.rsplit(":", 1)[1])
            for name, calls in cases(tokens):
                started = time.perf_counter()
                with Watch(pids, folder) as watch:
                    answers = asyncio.run(run_case(port, calls, args.timeout))
                per_process = watch.report
                results.append(
                    {
                        "case": name,
                        "requests": len(calls),
                        "body_mb": round(calls[0].body.size / MB, 1),
                        "answers": dict(Counter(answers)),
                        "seconds": round(time.perf_counter() - started, 2),
                        "max_rss_increase_mb": max(p["rss_peak_increase_mb"] for p in per_process),
                        "max_temp_mb": max(p["temp_peak_mb"] for p in per_process),
                        "processes": per_process,
                    }
                )
        finally:
            stop([api])
    machine = f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    worst = max(
        (r for r in results if r["requests"] == 1),
        key=lambda r: float(r["max_rss_increase_mb"]),
    )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": machine,
        "goal_mb": GOAL_MB,
        "within_goal": all(
            r["max_rss_increase_mb"] <= GOAL_MB * r["requests"] and r["max_temp_mb"] <= GOAL_MB
            for r in results
        ),
        "worst_single_request": {
            "case": worst["case"],
            "rss_increase_mb": worst["max_rss_increase_mb"],
        },
        "cases": results,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
